"""When a process trusts an aggregate it saved enough to decide on it unread."""

from __future__ import annotations

import pytest

from application.recent import RecentSaves


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recent(clock: Clock) -> RecentSaves:
    return RecentSaves(100, trusted_for=1.0, distrusted_for=5.0, clock=clock)


def test_an_aggregate_saved_a_moment_ago_is_trusted_at_that_version(
    recent: RecentSaves, clock: Clock
) -> None:
    recent.saved("proj_a", 3)
    clock.now += 0.5

    assert recent.trusts("proj_a", 3)
    assert not recent.trusts("proj_a", 2)
    assert not recent.trusts("proj_a", 4)


def test_trust_ends_a_moment_after_the_save(recent: RecentSaves, clock: Clock) -> None:
    recent.saved("proj_a", 3)

    clock.now += 1.5

    assert not recent.trusts("proj_a", 3)


def test_an_aggregate_never_saved_here_is_not_trusted(recent: RecentSaves) -> None:
    assert not recent.trusts("proj_a", 0)
    assert not recent.trusts("proj_a", 1)


def test_a_write_seen_elsewhere_withdraws_trust_for_a_while(
    recent: RecentSaves, clock: Clock
) -> None:
    recent.saved("proj_a", 3)
    recent.written_elsewhere("proj_a")
    clock.now += 0.1
    recent.saved("proj_a", 5)

    assert not recent.trusts("proj_a", 5)
    clock.now += 5.0
    recent.saved("proj_a", 6)
    assert recent.trusts("proj_a", 6)


def test_it_keeps_at_most_its_size_dropping_what_no_longer_matters(
    recent: RecentSaves, clock: Clock
) -> None:
    for number in range(100):
        recent.saved(f"job_{number}", 1)
    clock.now += 2.0
    recent.saved("proj_kept", 1)

    assert len(recent) == 1
    assert recent.trusts("proj_kept", 1)


def test_when_everything_still_matters_the_oldest_make_room(
    recent: RecentSaves,
) -> None:
    for number in range(100):
        recent.saved(f"job_{number}", 1)

    recent.saved("proj_new", 1)

    assert len(recent) <= 100
    assert recent.trusts("proj_new", 1)
    assert not recent.trusts("job_0", 1)
    assert recent.trusts("job_99", 1)
