"""Agent records, control, framework id and compare-and-swap behaviour on a real etcd."""

from __future__ import annotations

import threading

import pytest

from framework.state import (
    Batch,
    ConflictError,
    CorruptValue,
    InvalidRecord,
    NewEvent,
    NotLeader,
    StoredControl,
)
from framework.state.connection import put


def raw_put(store, key: str, value: bytes) -> None:
    """A write from outside the store (another tool, an overlapping scheduler)."""
    assert store.conn.txn([], [put(key, value)]).succeeded


def test_records_round_trip(leader_store):
    records = {"a-S0": {"steps": {"docker": {"state": "complete", "attempts": 1}}},
               "b-S1": {"steps": {}, "hostname": "<script>\u00e9"}}
    leader_store.commit(Batch(agents=records))
    assert leader_store.load_agents() == records
    assert leader_store.load_agent("b-S1") == records["b-S1"]
    assert leader_store.load_agent("missing-S9") is None


def test_new_store_starts_empty(make_store):
    store = make_store()
    assert store.load_agents() == {}
    assert store.load_framework_id() is None
    assert store.load_control() == StoredControl()
    assert store.recent_events() == []


def test_one_transaction_for_several_agents_and_their_events(leader_store):
    leader_store.commit(Batch(
        agents={f"a-S{i}": {"step": "cni"} for i in range(20)},
        events=[NewEvent("step-started", "cni", f"a-S{i}") for i in range(20)]))
    assert leader_store.stats.write_transactions == 1
    assert len(leader_store.load_agents()) == 20
    assert len(leader_store.recent_events(limit=100)) == 20


def test_big_batches_are_split_below_etcds_operation_limit(leader_store):
    leader_store.commit(Batch(agents={f"a-S{i}": {"n": i} for i in range(300)}))
    assert leader_store.stats.write_transactions == 3
    assert leader_store.load_agents() == {f"a-S{i}": {"n": i} for i in range(300)}


def test_records_are_decoded_one_by_one_across_pages(leader_store):
    leader_store.commit(Batch(agents={f"a-S{i}": {"n": i} for i in range(1200)}))
    decoded = leader_store.load_agents(lambda agent_id, value: (agent_id, value["n"]))
    assert decoded == {f"a-S{i}": (f"a-S{i}", i) for i in range(1200)}


def test_update_after_load_uses_the_loaded_revision(leader_store):
    leader_store.put_agent("a-S0", {"v": 1})
    leader_store.put_agent("a-S0", {"v": 2})
    leader_store.load_agents()
    leader_store.put_agent("a-S0", {"v": 3})
    assert leader_store.load_agent("a-S0") == {"v": 3}


def test_change_from_elsewhere_is_a_conflict_until_reloaded(leader_store):
    leader_store.put_agent("a-S0", {"v": 1})
    raw_put(leader_store, leader_store.keys.agent("a-S0"), b'{"v": "theirs"}')
    with pytest.raises(ConflictError):
        leader_store.put_agent("a-S0", {"v": 2})
    assert leader_store.load_agent("a-S0") == {"v": "theirs"}
    leader_store.put_agent("a-S0", {"v": 2})
    assert leader_store.load_agent("a-S0") == {"v": 2}


def test_creating_a_key_that_appeared_meanwhile_is_a_conflict(leader_store):
    raw_put(leader_store, leader_store.keys.agent("a-S0"), b'{"v": "theirs"}')
    with pytest.raises(ConflictError):
        leader_store.put_agent("a-S0", {"v": "mine"})
    assert leader_store.load_agents() == {"a-S0": {"v": "theirs"}}


def test_conflicting_batch_writes_nothing(leader_store):
    leader_store.commit(Batch(agents={"a-S0": {"v": 1}, "b-S1": {"v": 1}}))
    raw_put(leader_store, leader_store.keys.agent("b-S1"), b'{"v": "theirs"}')
    with pytest.raises(ConflictError):
        leader_store.commit(Batch(agents={"a-S0": {"v": 2}, "b-S1": {"v": 2}},
                                  events=[NewEvent("x", "y")]))
    assert leader_store.load_agents() == {"a-S0": {"v": 1}, "b-S1": {"v": "theirs"}}
    assert leader_store.recent_events() == []


def test_overlapping_schedulers_lose_no_update(make_store):
    """A hands over to B; when A leads again with its old view, it must reload first."""
    a, b = make_store(), make_store()
    assert a.leader.acquire(timeout_s=10)
    a.put_agent("a-S0", {"by": "a"})
    a.leader.release()
    assert b.leader.acquire(timeout_s=10)
    assert b.load_agent("a-S0") == {"by": "a"}
    b.put_agent("a-S0", {"by": "b"})
    b.leader.release()
    assert a.leader.acquire(timeout_s=10)
    with pytest.raises(ConflictError):
        a.put_agent("a-S0", {"by": "a again"})
    assert a.load_agents() == {"a-S0": {"by": "b"}}
    a.put_agent("a-S0", {"by": "a again"})


def test_removed_agent_is_gone_and_can_be_recreated(leader_store):
    leader_store.put_agent("a-S0", {"v": 1})
    leader_store.remove_agent("a-S0")
    assert leader_store.load_agents() == {}
    leader_store.put_agent("a-S0", {"v": 2})
    assert leader_store.load_agents() == {"a-S0": {"v": 2}}


def test_writes_need_leadership(make_store):
    store = make_store()
    with pytest.raises(NotLeader):
        store.put_agent("a-S0", {})
    with pytest.raises(NotLeader):
        store.save_framework_id("fw-1")
    assert store.load_agents() == {}
    assert store.stats.write_transactions == 0


@pytest.mark.parametrize("record", [{"t": {1, 2}}, {"x": float("nan")}, [1, 2], "text"])
def test_unstorable_records_are_refused_and_nothing_is_written(leader_store, record):
    leader_store.put_agent("a-S0", {"v": 1})
    with pytest.raises(InvalidRecord):
        leader_store.commit(Batch(agents={"a-S0": {"v": 2}, "b-S1": record}))
    assert leader_store.load_agents() == {"a-S0": {"v": 1}}


def test_writing_and_removing_one_agent_at_once_is_refused(leader_store):
    with pytest.raises(InvalidRecord):
        leader_store.commit(Batch(agents={"a-S0": {}}, removed_agents={"a-S0"}))


def test_corrupt_record_is_reported_and_left_alone(leader_store):
    key = leader_store.keys.agent("a-S0")
    raw_put(leader_store, key, b"{not json")
    with pytest.raises(CorruptValue, match="a-S0"):
        leader_store.load_agents()
    assert leader_store.conn.get(key).value == b"{not json"


def test_control_round_trip_with_who_when_why(leader_store):
    control = StoredControl().paused_by("alice", 100.0, "maintenance window")
    leader_store.save_control(control)
    assert leader_store.load_control() == control
    leader_store.save_control(control.resumed_by("carol", 102.0, "done"))
    loaded = leader_store.load_control()
    assert (loaded.paused, loaded.by, loaded.at, loaded.why) == (False, "carol", 102.0, "done")


def test_a_control_stored_by_an_earlier_release_still_loads(leader_store):
    """Earlier releases wrote an always-empty `agent_requests` object into the control."""
    raw_put(leader_store, leader_store.keys.control,
            b'{"agent_requests":{},"at":5.0,"by":"alice","paused":true,"uninstall":null,'
            b'"why":"window"}')
    assert leader_store.load_control() == StoredControl().paused_by("alice", 5.0, "window")


def test_corrupt_control_is_reported(leader_store):
    raw_put(leader_store, leader_store.keys.control, b'{"paused": true, "colour": "red"}')
    with pytest.raises(CorruptValue):
        leader_store.load_control()


def test_framework_id_set_and_replaced(leader_store, make_store):
    leader_store.save_framework_id("fw-0001")
    assert make_store().load_framework_id() == "fw-0001"
    leader_store.save_framework_id("fw-0002")
    assert leader_store.load_framework_id() == "fw-0002"
    with pytest.raises(InvalidRecord):
        leader_store.save_framework_id(" ")


def test_clear_framework_touches_only_its_own_registration(make_store, etcd_prefix):
    mine = make_store("calico")
    sibling = make_store("calico-2")
    other_root = make_store("calico", root=etcd_prefix + "-other")
    for store in (mine, sibling, other_root):
        assert store.leader.acquire(timeout_s=10)
        store.save_framework_id(f"fw-{store.keys.prefix}")
        store.commit(Batch(agents={"a-S0": {"v": 1}},
                           control=StoredControl().paused_by("x", 1, "y"),
                           events=[NewEvent("k", "m")]))

    event = mine.clear_framework("Framework has been removed")

    assert mine.load_framework_id() is None
    assert mine.load_agents() == {}
    assert mine.load_control().paused
    assert [e.kind for e in mine.recent_events()] == ["framework-cleared", "k"]
    assert event.seq == 2 and mine.leader.is_leader
    for store in (sibling, other_root):
        assert store.load_framework_id() == f"fw-{store.keys.prefix}"
        assert store.load_agents() == {"a-S0": {"v": 1}}
    mine.put_agent("a-S0", {"v": "fresh"})
    mine.save_framework_id("fw-new")
    assert mine.load_agents() == {"a-S0": {"v": "fresh"}}


def test_clear_framework_can_keep_the_agent_records(leader_store):
    leader_store.save_framework_id("fw-1")
    leader_store.put_agent("a-S0", {"v": 1})
    leader_store.clear_framework("removed while uninstalling", keep_agents=True)
    assert leader_store.load_framework_id() is None
    assert leader_store.load_agents() == {"a-S0": {"v": 1}}
    leader_store.put_agent("a-S0", {"v": 2})  # the records' revisions are still known


def test_remove_all_leaves_only_the_leader_lock_and_nothing_of_its_siblings(
        make_store, etcd_prefix):
    mine, sibling = make_store("calico"), make_store("calico-2")
    for store in (mine, sibling):
        assert store.leader.acquire(timeout_s=10)
        store.save_framework_id("fw")
        store.commit(Batch(agents={"a-S0": {"v": 1}}, events=[NewEvent("k", "m")],
                           control=StoredControl(uninstall={"by": "cosmos"})))
    mine.remove_all()
    keys = [kv.key for kv in mine.conn.range(mine.keys.prefix, mine.keys.prefix + "\xff").kvs]
    assert keys == [mine.keys.leader] and mine.leader.is_leader
    assert (mine.load_framework_id(), mine.load_agents(), mine.recent_events()) == (None, {}, [])
    assert mine.load_control() == StoredControl()
    assert sibling.load_control() == StoredControl(uninstall={"by": "cosmos"})
    assert sibling.load_agents() == {"a-S0": {"v": 1}} and sibling.recent_events()
    mine.append_events(NewEvent("k", "again"))  # the event log starts afresh
    assert [e.seq for e in mine.recent_events()] == [1]


def test_clear_framework_needs_leadership(make_store):
    with pytest.raises(NotLeader):
        make_store().clear_framework("no")


def test_large_records_are_split_below_etcds_request_size(leader_store):
    records = {f"a-S{i}": {"blob": "x" * 20_000, "n": i} for i in range(150)}
    leader_store.commit(Batch(agents=records))
    assert leader_store.stats.write_transactions >= 3
    assert leader_store.load_agents() == records


def test_concurrent_commits_from_several_threads_all_land(leader_store):
    def work(thread: int) -> None:
        for i in range(20):
            agent = f"t{thread}-S{i}"
            leader_store.commit(Batch(agents={agent: {"i": i}},
                                      events=[NewEvent("step", "done", agent)]))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(leader_store.load_agents()) == 80
    assert sorted(e.seq for e in leader_store.recent_events(limit=1000)) == list(range(1, 81))
