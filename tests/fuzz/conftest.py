"""The fuzzing tests report what they tried at the end of the run."""

from __future__ import annotations

import pytest

from tests.figures import show


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    show(terminalreporter)
