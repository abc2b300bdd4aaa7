"""The bounded event log: monotonic sequence numbers, trimming, filtering."""

from __future__ import annotations

import pytest

from framework.state import Batch, ConflictError, NewEvent
from framework.state.connection import put


def event_keys(store) -> list[str]:
    prefix = store.keys.events_prefix
    return [kv.key for kv in store.conn.range(prefix, prefix[:-1] + "0").kvs]


def test_events_are_numbered_and_listed_newest_first(make_store):
    clock = iter(range(100, 200))
    store = make_store(clock=lambda: float(next(clock)))
    assert store.leader.acquire(timeout_s=10)
    store.append_events(NewEvent("a", "first"))
    logged = store.append_events(NewEvent("b", "second", "a-S0"), NewEvent("c", "third"))
    assert [(e.seq, e.at) for e in logged] == [(2, 101.0), (3, 101.0)]
    assert [(e.seq, e.kind) for e in store.recent_events()] == [(3, "c"), (2, "b"), (1, "a")]
    assert [e.seq for e in store.recent_events(limit=2)] == [3, 2]


def test_log_is_trimmed_to_its_bound_in_the_same_transaction(make_store):
    store = make_store(max_events=5)
    assert store.leader.acquire(timeout_s=10)
    for i in range(12):
        store.append_events(NewEvent("tick", str(i)))
    assert store.stats.write_transactions == 12
    assert [e.seq for e in store.recent_events(limit=100)] == [12, 11, 10, 9, 8]
    assert len(event_keys(store)) == 5


def test_batch_larger_than_the_bound_keeps_only_the_newest(make_store):
    store = make_store(max_events=3)
    assert store.leader.acquire(timeout_s=10)
    logged = store.append_events(*[NewEvent("tick", str(i)) for i in range(7)])
    assert [e.seq for e in logged] == list(range(1, 8))
    assert [e.message for e in store.recent_events()] == ["6", "5", "4"]
    assert len(event_keys(store)) == 3


def test_filter_by_agent_reads_past_other_agents_events(leader_store):
    for i in range(30):
        leader_store.commit(Batch(events=[NewEvent("step", f"{i}", "a-S0" if i % 10 == 0
                                                    else "b-S1")]))
    mine = leader_store.recent_events(limit=10, agent_id="a-S0")
    assert [e.message for e in mine] == ["20", "10", "0"]


def test_sequence_continues_for_the_next_scheduler(make_store):
    first = make_store()
    assert first.leader.acquire(timeout_s=10)
    first.append_events(NewEvent("a", "1"), NewEvent("a", "2"))
    first.leader.release()
    second = make_store()
    assert second.leader.acquire(timeout_s=10)
    assert [e.seq for e in second.append_events(NewEvent("b", "3"))] == [3]


def test_sequence_recovers_when_another_writer_logged_meanwhile(make_store):
    a, b = make_store(), make_store()
    assert a.leader.acquire(timeout_s=10)
    a.append_events(NewEvent("a", "1"))
    a.leader.release()
    assert b.leader.acquire(timeout_s=10)
    b.append_events(NewEvent("b", "2"))
    b.leader.release()
    assert a.leader.acquire(timeout_s=10)
    with pytest.raises(ConflictError):
        a.append_events(NewEvent("a", "3"))
    assert [e.seq for e in a.append_events(NewEvent("a", "3"))] == [3]
    assert [e.message for e in a.recent_events()] == ["3", "2", "1"]


def test_many_events_in_one_batch_are_all_logged(leader_store):
    logged = leader_store.append_events(*[NewEvent("tick", str(i)) for i in range(300)])
    assert [e.seq for e in logged] == list(range(1, 301))
    assert leader_store.stats.write_transactions == 3
    assert [e.seq for e in leader_store.recent_events(limit=1000)] == list(range(300, 0, -1))


def test_empty_batch_writes_nothing(leader_store):
    assert leader_store.commit(Batch()) == []
    assert leader_store.stats.write_transactions == 0


def test_events_keep_who_acted_and_older_events_read_without_it(make_store):
    store = make_store()
    assert store.leader.acquire(timeout_s=10)
    store.append_events(NewEvent("rollout", "rollout paused: upgrade", by="alice"))
    old = b'{"agent_id":null,"at":5.0,"kind":"rollout","message":"old","seq":2}'
    store.conn.txn([], [put(store.keys.event(2), old)])  # as stored before `by` was kept
    assert [(e.message, e.by) for e in store.recent_events()] == [
        ("old", None), ("rollout paused: upgrade", "alice")]
