"""Liveness: a worker that keeps beating is live however long it waits; one that stops
beating past the limit is not, and says why."""

from __future__ import annotations

from framework.liveness import WORKER_STALL_S, Heartbeat


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_beating_worker_stays_live_and_a_stalled_one_does_not():
    clock = Clock()
    heartbeat = Heartbeat(clock=clock)
    for _ in range(100):  # waiting for etcd for 100 rounds of 2 s: still live
        clock.now += 2.0
        heartbeat.beat()
        assert heartbeat.stalled() is None
    clock.now += WORKER_STALL_S - 1
    assert heartbeat.stalled() is None
    clock.now += 1
    reason = heartbeat.stalled()
    assert reason is not None and f"{WORKER_STALL_S:.0f} s" in reason
    heartbeat.beat()
    assert heartbeat.stalled() is None and heartbeat.idle_s() == 0.0
