"""The fault tests report what they injected at the end of the run."""

from __future__ import annotations

import pytest

from tests.figures import show


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    show(terminalreporter)
