"""Operator actions reach the event log with the operator who asked, end to end through the
scheduler's worker, etcd and the web app's event view."""

from __future__ import annotations

from framework.config import load
from framework.engine import Pause, SkipAgent
from framework.scheduler import Runtime
from framework.snapshot import OperatorRequest, StatusView
from framework.state import EtcdConnection, StateStore


def test_events_record_the_authenticated_operator(tmp_path, etcd_server, etcd_prefix):
    config = load([], {"CALICO_ETCD_ENDPOINTS": etcd_server.endpoint})
    store = StateStore(EtcdConnection([etcd_server.endpoint], timeout_s=2.0), "calico",
                       root=etcd_prefix)
    runtime = Runtime(config, store, tmp_path)
    runtime.become_leader()
    try:
        for event in (Pause("alice", "kernel upgrade"), SkipAgent("nope", "bob", "x")):
            request = OperatorRequest(event)
            runtime.handle(request)
            assert request.done.is_set()
        events = StatusView(runtime.snapshot, store).events()
        assert [(e["kind"], e["message"], e["by"]) for e in events] == [
            ("rollout", "rollout paused: kernel upgrade", "alice")]
    finally:
        store.leader.release()
