"""Fixtures for the state store tests: stores on the shared etcd, isolated by prefix."""

from __future__ import annotations

import pytest

from framework.state import EtcdConnection, StateStore
from tests.state.helpers import SHORT_TTL_S


@pytest.fixture
def make_store(etcd_server, etcd_prefix):
    """Build stores (each with its own connection) under this test's prefix; cleaned up."""
    made: list[StateStore] = []

    def make(name: str = "calico", *, endpoints: list[str] | None = None,
             root: str = etcd_prefix, **kwargs) -> StateStore:
        conn = EtcdConnection(endpoints or [etcd_server.endpoint], timeout_s=2.0)
        kwargs.setdefault("lease_ttl_s", SHORT_TTL_S)
        store = StateStore(conn, name, root=root, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.leader.release()
        store.conn.close()


@pytest.fixture
def leader_store(make_store):
    """A store that holds its framework's leader lock."""
    store = make_store()
    assert store.leader.acquire(timeout_s=10)
    return store
