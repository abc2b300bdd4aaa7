"""The unfiltered-offers baseline: what a framework that declines every offer without
filters (the original's behaviour) receives from the same master, measured with a tiny
pymesos framework. The master then applies its default five-second refusal."""

from __future__ import annotations

import threading
import time

from pymesos import MesosSchedulerDriver, Scheduler

FRAMEWORK_INFO = {"user": "root", "name": "unfiltered-baseline",
                  "roles": ["*", "slave_public"],
                  "capabilities": [{"type": "MULTI_ROLE"}]}
FIRST_OFFER_DEADLINE_S = 30.0


class BaselineError(RuntimeError):
    """The baseline framework did not get offers in two allocation cycles."""


class _Decliner(Scheduler):
    """Declines every offer with no filters; remembers when and how many offers came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first = threading.Event()
        self.batches: list[tuple[float, int]] = []

    def resourceOffers(self, driver, offers):  # noqa: N802 (pymesos callback name)
        with self.lock:
            self.batches.append((time.monotonic(), len(offers)))
        self.first.set()
        for offer in offers:
            driver.declineOffer(offer["id"])


def offers_per_min(master_address: str, window_s: float) -> float:
    """Offers per minute to a framework declining without filters: the offers of every batch
    after the first within `window_s`, over the time from the first batch to the last (the
    window must hold more than one refusal period, about six seconds)."""
    sched = _Decliner()
    driver = MesosSchedulerDriver(sched, dict(FRAMEWORK_INFO), master_address)
    driver.start()
    try:
        if not sched.first.wait(FIRST_OFFER_DEADLINE_S):
            raise BaselineError(f"no offers within {FIRST_OFFER_DEADLINE_S}s")
        with sched.lock:
            end = sched.batches[0][0] + window_s
        while (left := end - time.monotonic()) > 0:
            time.sleep(left)
        with sched.lock:
            batches = [b for b in sched.batches if b[0] <= end]
    finally:
        driver.stop()
        driver.join()
    if len(batches) < 2:
        raise BaselineError(f"one batch of offers in {window_s}s: the window is too short")
    later = sum(count for _, count in batches[1:])
    return later * 60.0 / (batches[-1][0] - batches[0][0])
