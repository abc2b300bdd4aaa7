"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import itertools

import pytest

from devcluster.etcd import EtcdServer

_prefix_counter = itertools.count()


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory):
    """One real etcd for the session; tests isolate themselves with `etcd_prefix`."""
    server = EtcdServer(tmp_path_factory.mktemp("etcd")).start()
    yield server
    server.stop()


@pytest.fixture
def etcd_prefix() -> str:
    """A key prefix no other test uses, so tests can share one etcd."""
    return f"/test-{next(_prefix_counter)}"
