"""How the scheduler waits for etcd: one policy for every wait.

Checking the cluster, taking the leader lock, loading the state, storing the framework id
and recording an uninstall all wait the same way: the attempt is made again after a delay,
for as long as it takes. The scheduler stays up meanwhile, says why on /health and the page,
and keeps its liveness heartbeat beating (waiting for etcd is not a stall a restart could
mend), instead of exiting into a Marathon restart loop that would wait the same way without
a page. Shaped like urllib3's `Retry`: an immutable value whose `delay` is pure; only `call`
sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from framework.etcd_check import ClusterUnusable, EtcdUnreachable
from framework.state import StoreUnavailable

T = TypeVar("T")

# etcd does not answer (through the state store, or the cluster check's own requests), or it
# answers but cannot serve the install.
OUTAGES: tuple[type[Exception], ...] = (StoreUnavailable, EtcdUnreachable, ClusterUnusable)


def _never() -> bool:
    return False


@dataclass(frozen=True)
class EtcdRetry:
    """`interval_s` between attempts while etcd does not answer; `recheck_s` while it answers
    but cannot serve the install (`ClusterUnusable`: only an operator changes that)."""

    interval_s: float = 2.0
    recheck_s: float = 15.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delay(self, err: Exception) -> float:
        """Seconds to wait after `err` before the next attempt."""
        return self.recheck_s if isinstance(err, ClusterUnusable) else self.interval_s

    def call(self, attempt: Callable[[], T], beat: Callable[[], None],
             on_error: Callable[[Exception, float], None], *,
             retry_on: tuple[type[Exception], ...] = OUTAGES,
             stop: Callable[[], bool] = _never) -> T:
        """`attempt()` until it returns; each error of `retry_on` is reported to `on_error`
        (with the delay that follows) and waited out. `beat` runs before every attempt.
        Once `stop()` is true (before the wait or during it) the last error is raised."""
        while True:
            beat()
            try:
                return attempt()
            except retry_on as err:
                delay = self.delay(err)
                on_error(err, delay)
                if not stop():
                    self.sleep(delay)
                if stop():
                    raise
