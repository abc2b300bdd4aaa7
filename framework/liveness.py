"""Liveness: whether restarting the scheduler would help.

The worker (the scheduler's main thread) beats after every message it handles and every
round of a wait for etcd or for the leader lock. Waiting on a dependency is not a fault a
restart can fix, so it keeps the scheduler live; only a worker that stopped beating, stuck
in a call that never returns or a loop that never yields, makes it not live. Marathon's
health check on `/health/live` then restarts it (docs/operations.md, "Health").
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The worker handles a message or a tick at least every second, and each etcd request and
# driver call is bounded by its own timeout (a few seconds): a minute without a beat is
# well beyond any of them.
WORKER_STALL_S = 60.0


class Heartbeat:
    def __init__(self, stall_s: float = WORKER_STALL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_s = stall_s
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def idle_s(self) -> float:
        """Seconds since the worker last beat."""
        return max(0.0, self._clock() - self._last)

    def stalled(self) -> str | None:
        """None while live, else why not: a sentence for `/health/live`."""
        idle = self.idle_s()
        if idle < self.stall_s:
            return None
        return (f"the scheduler's worker has not made progress for {idle:.0f} s "
                f"(limit {self.stall_s:.0f} s): restarting it may help")
