"""etcd down, restarted, or one endpoint of several dead: typed errors, then recovery."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from devcluster.etcd import EtcdServer
from devcluster.ports import free_port
from framework.state import (
    Batch,
    EtcdConnection,
    NewEvent,
    NotLeader,
    StateStore,
    StoreUnavailable,
)
from tests.state.helpers import SHORT_TTL_S
from tests.wait import wait_until

# Long enough that leadership survives the seconds etcd is down in these tests.
SURVIVING_TTL_S = 30


@pytest.fixture
def own_etcd(tmp_path):
    """A private etcd that these tests may stop without disturbing the shared one.

    A fresh member stopped before it has committed its own membership never elects itself
    after a restart, so wait until it serves before any test stops it.
    """
    server = EtcdServer(tmp_path / "etcd").start()
    probe = EtcdConnection([server.endpoint], timeout_s=2.0)
    wait_until(lambda: answers(probe))
    probe.close()
    yield server
    server.stop()


def answers(conn: EtcdConnection) -> bool:
    try:
        conn.ping()
    except StoreUnavailable:
        return False
    return True


def test_stopped_etcd_gives_store_unavailable_then_recovers(own_etcd, etcd_prefix):
    store = StateStore(EtcdConnection([own_etcd.endpoint], timeout_s=2.0), "calico",
                       root=etcd_prefix, lease_ttl_s=SURVIVING_TTL_S)
    try:
        assert store.leader.acquire(timeout_s=10)
        store.commit(Batch(agents={"a-S0": {"v": 1}}, events=[NewEvent("k", "before")]))

        own_etcd.stop()
        with pytest.raises(StoreUnavailable, match=own_etcd.endpoint):
            store.load_agents()
        with pytest.raises(StoreUnavailable):
            store.put_agent("a-S0", {"v": 2})
        with pytest.raises(StoreUnavailable):
            store.ping()

        own_etcd.start()
        wait_until(lambda: answers(store.conn))
        assert store.leader.is_leader
        assert store.load_agents() == {"a-S0": {"v": 1}}
        store.commit(Batch(agents={"a-S0": {"v": 2}}, events=[NewEvent("k", "after")]))
        assert store.load_agents() == {"a-S0": {"v": 2}}
        assert [e.message for e in store.recent_events()] == ["after", "before"]
    finally:
        store.leader.release()
        store.conn.close()


def test_acquire_waits_through_an_outage(own_etcd, etcd_prefix, caplog):
    caplog.set_level(logging.INFO, logger="framework.state")
    store = StateStore(EtcdConnection([own_etcd.endpoint], timeout_s=2.0), "calico",
                       root=etcd_prefix)
    own_etcd.stop()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(store.leader.acquire(timeout_s=60)))
    waiter.start()
    try:
        wait_until(lambda: "unreachable" in caplog.text)
        own_etcd.start()
        waiter.join()
        assert result == [True]
        store.put_agent("a-S0", {})
    finally:
        own_etcd.start()
        waiter.join()
        store.leader.release()
        store.conn.close()


def test_dead_endpoint_fails_over_to_the_next(make_store, etcd_server):
    dead = f"http://127.0.0.1:{free_port()}"
    store = make_store(endpoints=[dead, etcd_server.endpoint])
    assert store.leader.acquire(timeout_s=10)
    store.put_agent("a-S0", {"v": 1})
    assert store.load_agents() == {"a-S0": {"v": 1}}
    assert store.conn.current_endpoint == etcd_server.endpoint


def test_every_endpoint_dead_names_them_all(make_store):
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    store = make_store(endpoints=dead)
    with pytest.raises(StoreUnavailable) as caught:
        store.load_framework_id()
    assert all(url in str(caught.value) for url in dead)
    assert not store.leader.acquire(timeout_s=0.5)


def test_endpoint_that_never_answers_times_out_and_fails_over(make_store, etcd_server):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel; nothing ever answers
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        store = make_store(endpoints=[silent_url, etcd_server.endpoint])
        started = time.monotonic()
        assert store.load_agents() == {}
        assert time.monotonic() - started < 2 * store.conn.timeout_s
        assert store.conn.current_endpoint == etcd_server.endpoint


def test_outage_longer_than_the_ttl_ends_leadership_until_reacquired(own_etcd, etcd_prefix):
    lost = threading.Event()
    store = StateStore(EtcdConnection([own_etcd.endpoint], timeout_s=1.0), "calico",
                       root=etcd_prefix, lease_ttl_s=SHORT_TTL_S,
                       on_leadership_lost=lambda why: lost.set())
    try:
        assert store.leader.acquire(timeout_s=10)
        own_etcd.stop()
        stopped_at = time.monotonic()
        wait_until(lambda: not store.leader.is_leader)
        assert time.monotonic() - stopped_at <= SHORT_TTL_S + 1.5
        assert lost.wait(timeout=SHORT_TTL_S)
        assert "unreachable" in store.leader.lost_reason
        with pytest.raises(NotLeader):
            store.put_agent("a-S0", {})
        own_etcd.start()
        # etcd kept the lost lease (and our key) through the outage: the lock revokes it
        # rather than wait a TTL for its own key.
        back_at = time.monotonic()
        assert store.leader.acquire(timeout_s=30)
        assert time.monotonic() - back_at < SHORT_TTL_S
        store.put_agent("a-S0", {})
    finally:
        store.leader.release()
        store.conn.close()
