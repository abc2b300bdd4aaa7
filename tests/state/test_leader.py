"""The leader lock: one leader at a time, takeover, keepalive, loss, and write fencing."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from framework.state import NotLeader, StoreConfigError
from framework.state.connection import delete_range
from tests.state.helpers import SHORT_TTL_S, HolderProcess

# Takeover needs the lease to run out (TTL) plus one poll interval; allow scheduling slack.
TAKEOVER_BOUND_S = SHORT_TTL_S + 3.5


class Waiter:
    """Runs `acquire` on a thread and records when it returned."""

    def __init__(self, store, timeout_s: float) -> None:
        self.result: bool | None = None
        self.done_at: float | None = None
        self.thread = threading.Thread(target=self._run, args=(store, timeout_s))
        self.thread.start()

    def _run(self, store, timeout_s: float) -> None:
        self.result = store.leader.acquire(timeout_s=timeout_s)
        self.done_at = time.monotonic()

    def join(self) -> bool:
        self.thread.join()
        return bool(self.result)


@pytest.fixture
def holder(etcd_server, etcd_prefix):
    proc = HolderProcess(etcd_server.endpoint, etcd_prefix, SHORT_TTL_S)
    yield proc
    proc.stop()


def test_only_one_of_two_schedulers_leads(make_store):
    a, b = make_store(), make_store()
    assert a.leader.acquire(timeout_s=10)
    assert not b.leader.try_acquire()
    assert b.leader.holder() == a.leader.identity
    assert a.leader.is_leader and not b.leader.is_leader


def test_holder_keeps_the_lock_past_its_ttl(make_store):
    a, b = make_store(), make_store()
    assert a.leader.acquire(timeout_s=10)
    assert not b.leader.acquire(timeout_s=2.5 * SHORT_TTL_S)
    assert a.leader.is_leader and b.leader.holder() == a.leader.identity


def test_waiting_scheduler_takes_over_after_release(make_store):
    a, b = make_store(), make_store()
    assert a.leader.acquire(timeout_s=10)
    waiter = Waiter(b, timeout_s=30)
    released_at = time.monotonic()
    a.leader.release()
    assert waiter.join()
    assert waiter.done_at - released_at < 2.0 + b.leader.poll_interval_s
    assert b.leader.holder() == b.leader.identity and not a.leader.is_leader


def test_takeover_after_holder_is_killed(make_store, holder):
    holder.expect("leader")
    standby = make_store()
    waiter = Waiter(standby, timeout_s=30)
    killed_at = time.monotonic()
    os.kill(holder.proc.pid, signal.SIGKILL)
    assert waiter.join()
    assert waiter.done_at - killed_at < TAKEOVER_BOUND_S


def test_frozen_holder_loses_the_lock_and_cannot_write(make_store, holder):
    """A holder paused past its TTL (GC pause, partition) is deposed and fenced off."""
    holder.expect("leader")
    os.kill(holder.proc.pid, signal.SIGSTOP)
    try:
        standby = make_store()
        started = time.monotonic()
        assert standby.leader.acquire(timeout_s=30)
        assert time.monotonic() - started < TAKEOVER_BOUND_S
        standby.put_agent("a-S0", {"by": "standby"})
    finally:
        os.kill(holder.proc.pid, signal.SIGCONT)
    holder.send("write a-S0")
    holder.expect("lost", "refused NotLeader")
    assert standby.load_agent("a-S0") == {"by": "standby"}


def test_deposed_leader_write_is_fenced_before_it_notices(make_store):
    reasons: list[str] = []
    a = make_store(lease_ttl_s=60, on_leadership_lost=reasons.append)
    b = make_store()
    assert a.leader.acquire(timeout_s=10)
    a.conn.txn([], [delete_range(a.keys.leader)])
    assert b.leader.acquire(timeout_s=10)
    assert a.leader.is_leader  # not noticed yet: its next keepalive is 20 s away
    with pytest.raises(NotLeader, match=b.leader.identity):
        a.put_agent("a-S0", {"by": "a"})
    assert a.stats.write_transactions == 1
    assert not a.leader.is_leader and len(reasons) == 1
    assert b.load_agent("a-S0") is None
    with pytest.raises(NotLeader):
        a.put_agent("a-S0", {"by": "a"})
    assert a.stats.write_transactions == 1


def test_keepalive_reports_a_deleted_leader_key(make_store):
    lost = threading.Event()
    reasons: list[str] = []
    a = make_store(on_leadership_lost=lambda why: (reasons.append(why), lost.set()))
    assert a.leader.acquire(timeout_s=10)
    a.conn.txn([], [delete_range(a.keys.leader)])
    assert lost.wait(timeout=2 * SHORT_TTL_S)
    assert not a.leader.is_leader
    assert reasons == ["the leader key was deleted or taken over"]
    assert "deleted" in a.leader.lost_reason


def test_lock_can_be_acquired_again_after_release(make_store):
    a = make_store()
    assert a.leader.acquire(timeout_s=10)
    first = a.leader.fence
    a.leader.release()
    a.leader.release()
    assert a.leader.holder() is None
    assert a.leader.acquire(timeout_s=10)
    assert a.leader.fence > first
    a.put_agent("a-S0", {})


@pytest.mark.parametrize("ttl", [0, 1, 2.5, -3])
def test_unusable_ttls_are_refused(make_store, ttl):
    with pytest.raises(StoreConfigError):
        make_store(lease_ttl_s=ttl)
