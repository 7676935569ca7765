"""JSON answers read back as the values Flask's own provider would have written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from api.encoding import FastJSONProvider


@dataclass
class Point:
    x: int
    y: int


VALUES = {
    "zeta": "é ü 漢字 \u2028",
    "alpha": [1, 2.5, None, True],
    "when": datetime(2026, 4, 28, 12, 0, tzinfo=UTC),
    "point": Point(1, 2),
    "page": int("9" * 40),
}


def test_answers_hold_the_same_values_as_flasks_own() -> None:
    app = Flask(__name__)
    fast, default = FastJSONProvider(app), DefaultJSONProvider(app)
    default.sort_keys = False

    with app.app_context():
        written = fast.response(VALUES)

    assert written.mimetype == "application/json"
    assert json.loads(written.get_data()) == json.loads(default.dumps(VALUES))
    assert list(json.loads(written.get_data())) == list(VALUES)


def test_large_integers_are_written_by_the_standard_library() -> None:
    fast = FastJSONProvider(Flask(__name__))

    huge = 10**30 + 1

    assert json.loads(fast.dumps({"n": huge})) == {"n": huge}
