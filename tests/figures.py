"""Figures that the long-running tests report at the end of a run.

A soak or a fuzzing run is only as convincing as what it did, so each such
test records a line (examples tried, requests sent, faults injected) and the
run prints them all after the test summary.
"""

from __future__ import annotations

import pytest

FIGURES: list[str] = []
_shown: list[bool] = []


def record(line: str) -> None:
    """Keep one line of figures for the end of the run."""
    FIGURES.append(line)


def show(terminal: pytest.TerminalReporter) -> None:
    """Print the figures once, whichever conftest asks first."""
    if not FIGURES or _shown:
        return
    _shown.append(True)
    terminal.write_sep("-", "figures of the exploring, soak and fault tests")
    for line in FIGURES:
        terminal.write_line(line)
