"""Taking the leader lock through an etcd outage, with a fake lock and no real sleep: the
wait goes on through every failed etcd call, and a stop ends it."""

from __future__ import annotations

from framework.config import load
from framework.retry import EtcdRetry
from framework.scheduler import Runtime
from framework.state import StoreUnavailable


class FakeLock:
    """A leader lock held by another scheduler for the first `taken` acquires; etcd fails
    the first `acquire_failures` acquires and `holder_failures` holder reads."""

    def __init__(self, *, taken: int = 0, acquire_failures: int = 0,
                 holder_failures: int = 0) -> None:
        self.taken = taken
        self.acquire_failures = acquire_failures
        self.holder_failures = holder_failures
        self.is_leader = False
        self.calls: list[str] = []

    def acquire(self, timeout_s: float) -> bool:
        self.calls.append("acquire")
        if self.acquire_failures:
            self.acquire_failures -= 1
            raise StoreUnavailable("etcd down")
        if self.taken:
            self.taken -= 1
            return False
        self.is_leader = True
        return True

    def holder(self) -> str:
        self.calls.append("holder")
        if self.holder_failures:
            self.holder_failures -= 1
            raise StoreUnavailable("etcd down")
        return "another"


class LockOnlyStore:
    def __init__(self, leader: FakeLock) -> None:
        self.leader = leader


def runtime_with(leader: FakeLock, tmp_path, sleep) -> Runtime:
    return Runtime(load([], {}), LockOnlyStore(leader), tmp_path, retry=EtcdRetry(sleep=sleep))


def test_etcd_failing_while_another_holds_the_lock_is_waited_out(tmp_path):
    """The lock is taken (acquire times out) and etcd fails when asked who holds it: the
    scheduler waits on instead of ending."""
    slept: list[float] = []
    leader = FakeLock(taken=2, holder_failures=1)
    runtime = runtime_with(leader, tmp_path, slept.append)
    assert runtime.become_leader()
    assert leader.calls == ["acquire", "holder", "acquire", "holder", "acquire"]
    assert slept == [2.0]
    assert runtime.etcd_ok


def test_a_stop_during_the_outage_ends_the_wait(tmp_path):
    leader = FakeLock(acquire_failures=100)
    runtime = runtime_with(leader, tmp_path, lambda s: runtime._request_stop("SIGTERM"))
    assert not runtime.become_leader()
    assert leader.calls == ["acquire"]
    assert not runtime.etcd_ok
