"""Which aggregates this process saved a moment ago, so that it may decide on them.

A client that changes a resource often changes it again at once, through the
same connection and so the same process: an unassignment follows its
assignment. The process then holds the aggregate exactly as it saved it, and
unless another process wrote it since, reading it again only confirms that.
Such an aggregate is trusted: a command may decide on it as cached, and the
store confirms the decision by recording the next version, which it refuses
if any other version came first.

Trust is a guess that saves a read, never a guarantee. It lasts a moment
after this process saved the aggregate, and is withdrawn for a while once
another process is seen writing it (a busy project that every process
changes would otherwise cost a refused record now and then).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

# How long after this process saved an aggregate a command may decide on it
# without reading it: long enough for a client's next request, short enough
# that another process has rarely written it meanwhile.
TRUSTED_FOR = 1.0
# How long an aggregate that another process wrote is read before deciding,
# however recently this process saved it.
DISTRUSTED_FOR = 5.0


class _Saved(NamedTuple):
    version: int
    saved_at: float
    distrusted_until: float


_NEVER = _Saved(0, float("-inf"), float("-inf"))


class RecentSaves:
    """The versions this process saved of the aggregates it saved lately.

    A plain dictionary, looked up a few times by every command: once it
    holds `size` entries, those that can no longer matter (neither trusted
    nor distrusted any more) are dropped, and if none can be, the oldest
    tenth. Each step is one dictionary operation, safe between threads.
    """

    def __init__(
        self,
        size: int,
        *,
        trusted_for: float = TRUSTED_FOR,
        distrusted_for: float = DISTRUSTED_FOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.trusted_for = trusted_for
        self.distrusted_for = distrusted_for
        self._clock = clock
        self._saved: dict[str, _Saved] = {}

    def saved(self, aggregate_id: str, version: int) -> None:
        """This process recorded `aggregate_id` up to `version`, just now."""
        before = self._saved.pop(aggregate_id, _NEVER)
        self._keep(
            aggregate_id, _Saved(version, self._clock(), before.distrusted_until)
        )

    def written_elsewhere(self, aggregate_id: str) -> None:
        """Another process wrote `aggregate_id`: read it before deciding, a while."""
        before = self._saved.pop(aggregate_id, _NEVER)
        until = self._clock() + self.distrusted_for
        self._keep(aggregate_id, before._replace(distrusted_until=until))

    def trusts(self, aggregate_id: str, version: int) -> bool:
        """Whether a command may decide on `aggregate_id` at `version` unread."""
        entry = self._saved.get(aggregate_id, _NEVER)
        if entry.version != version or version <= 0:
            return False
        moment = self._clock()
        return (
            moment - entry.saved_at <= self.trusted_for
            and moment >= entry.distrusted_until
        )

    def __len__(self) -> int:
        return len(self._saved)

    def _keep(self, aggregate_id: str, entry: _Saved) -> None:
        if len(self._saved) >= self.size:
            self._forget_what_no_longer_matters()
        self._saved[aggregate_id] = entry

    def _forget_what_no_longer_matters(self) -> None:
        # A copy of the entries, taken at once: other threads may change them.
        entries = list(self._saved.items())
        moment = self._clock()
        stale = [
            aggregate_id
            for aggregate_id, entry in entries
            if moment - entry.saved_at > self.trusted_for
            and moment >= entry.distrusted_until
        ]
        oldest = [aggregate_id for aggregate_id, _ in entries[: self.size // 10 + 1]]
        for aggregate_id in stale or oldest:
            self._saved.pop(aggregate_id, None)
