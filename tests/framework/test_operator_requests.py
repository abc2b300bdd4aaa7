"""Operator actions reach the worker as requests with one owner: an action answered 503
never takes effect later, and a claimed one is answered with its real outcome."""

from __future__ import annotations

import threading

import pytest

from framework.config import load
from framework.scheduler import Runtime, _operator_event
from framework.snapshot import OperatorControl
from framework.state import EtcdConnection, StateStore
from web import ControlUnavailableError

DEADLINE_S = 0.2


@pytest.fixture
def runtime(etcd_server, etcd_prefix, tmp_path):
    store = StateStore(EtcdConnection([etcd_server.endpoint], timeout_s=2.0), "calico",
                       root=etcd_prefix)
    assert store.leader.acquire(timeout_s=10)
    runtime = Runtime(load([], {}), store, tmp_path)
    yield runtime
    store.leader.release()
    store.conn.close()


def test_an_action_answered_unavailable_never_runs_later(runtime):
    """The worker is busy (waiting out an etcd outage): the caller is told 503, and when the
    worker reaches the request it drops it instead of pausing late."""
    control = OperatorControl(runtime.inbox, _operator_event, deadline_s=DEADLINE_S)
    with pytest.raises(ControlUnavailableError, match="will not take effect"):
        control.pause("ops", "too late")
    runtime.handle(runtime.inbox.get_nowait())
    assert runtime.inbox.empty()
    assert not runtime.engine.control.paused
    assert not runtime.store.load_control().paused


def test_a_claimed_action_is_answered_with_its_outcome_past_the_deadline(runtime):
    control = OperatorControl(runtime.inbox, _operator_event, deadline_s=DEADLINE_S)
    storing, release = threading.Event(), threading.Event()
    commit = runtime.store.commit

    def slow_commit(batch):
        storing.set()
        assert release.wait(10)
        return commit(batch)

    runtime.store.commit = slow_commit
    outcome: list[object] = []

    def ask() -> None:
        try:
            control.pause("ops", "window")
            outcome.append("ok")
        except ControlUnavailableError as err:
            outcome.append(err)

    caller = threading.Thread(target=ask)
    caller.start()
    worker = threading.Thread(target=lambda: runtime.handle(runtime.inbox.get(timeout=5)))
    worker.start()
    assert storing.wait(5)
    caller.join(3 * DEADLINE_S)
    assert caller.is_alive(), "the caller must wait for the claimed action's outcome"
    release.set()
    caller.join(10)
    worker.join(10)
    assert outcome == ["ok"]
    assert runtime.engine.control.paused and runtime.store.load_control().paused
