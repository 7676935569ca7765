"""Short and long variants of the tests that explore, soak, fuzz and inject faults.

`make test` runs the short variant of each: enough to catch a regression in a
few seconds. `make soak` sets SOKOSUMI_LONG_TESTS=1, which runs the same tests
for minutes with more examples, more clients and more faults.
"""

from __future__ import annotations

import os
from typing import TypeVar

Value = TypeVar("Value")

LONG = os.environ.get("SOKOSUMI_LONG_TESTS", "").strip() == "1"


def by_variant(short: Value, long: Value) -> Value:
    """`long` when the long variants run, else `short`."""
    return long if LONG else short
