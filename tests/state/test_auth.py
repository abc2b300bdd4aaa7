"""etcd user/password authentication against a real etcd 3.5 with auth enabled.

The user only has a role on the scheduler's key prefix, as the docs advise, so every key
the store touches (the /health ping included) must lie under it.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from devcluster.etcd import EtcdServer, etcd_binary
from framework.state import (
    Batch,
    Credentials,
    EtcdConnection,
    NewEvent,
    StateStore,
    StoreAuthError,
    StoreError,
)
from tests.wait import wait_until

ROOT = "/calico-dcos"
USER, PASSWORD = "calico-dcos", "etcd-Pa55word"


def etcdctl(endpoint: str, *args: str, user: str | None = None) -> str:
    argv = [str(Path(etcd_binary()).parent / "etcdctl"), "--endpoints", endpoint]
    if user:
        argv += ["--user", user]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def auth_etcd(tmp_path_factory):
    """A private etcd with auth enabled: root, and a user with readwrite on ROOT/."""
    server = EtcdServer(tmp_path_factory.mktemp("auth-etcd")).start()
    endpoint = server.endpoint
    wait_until(lambda: subprocess.run([str(Path(etcd_binary()).parent / "etcdctl"),
                                       "--endpoints", endpoint, "endpoint", "health"],
                                      capture_output=True, check=False).returncode == 0)
    etcdctl(endpoint, "user", "add", "root:root-pw")
    etcdctl(endpoint, "role", "add", "calico-dcos")
    etcdctl(endpoint, "role", "grant-permission", "calico-dcos", "--prefix=true", "readwrite",
            f"{ROOT}/")
    etcdctl(endpoint, "user", "add", f"{USER}:{PASSWORD}")
    etcdctl(endpoint, "user", "grant-role", USER, "calico-dcos")
    etcdctl(endpoint, "auth", "enable")
    yield server
    server.stop()


def store_for(server: EtcdServer, credentials: Credentials | None, name: str,
              lease_ttl_s: int = 2) -> StateStore:
    conn = EtcdConnection([server.endpoint], timeout_s=2.0, credentials=credentials)
    return StateStore(conn, name, root=ROOT, lease_ttl_s=lease_ttl_s)


def test_the_store_works_with_a_user_limited_to_its_prefix(auth_etcd):
    store = store_for(auth_etcd, Credentials(USER, PASSWORD), "calico")
    try:
        assert store.leader.acquire(timeout_s=10)
        store.commit(Batch(agents={"a-S0": {"v": 1}}, events=[NewEvent("k", "stored")]))
        store.ping()
        assert store.load_agents() == {"a-S0": {"v": 1}}
        assert [e.message for e in store.recent_events()] == ["stored"]
    finally:
        store.leader.release()
        store.conn.close()


def test_a_wrong_password_is_a_clear_error_naming_the_user(auth_etcd):
    store = store_for(auth_etcd, Credentials(USER, "wrong"), "calico-wrong")
    with pytest.raises(StoreAuthError, match="refused user 'calico-dcos'.*invalid user ID"):
        store.load_agents()
    store.conn.close()


def test_without_credentials_etcd_refuses(auth_etcd):
    store = store_for(auth_etcd, None, "calico-anonymous")
    with pytest.raises(StoreError, match="user name is empty"):
        store.load_agents()
    store.conn.close()


def test_a_token_etcd_forgot_in_a_restart_is_renewed(auth_etcd, caplog):
    """etcd keeps simple tokens in memory only: after its restart the next call is refused
    as unauthenticated once, logs in again, and goes through."""
    caplog.set_level(logging.INFO, logger="framework.state.connection")
    store = store_for(auth_etcd, Credentials(USER, PASSWORD), "calico-restart",
                      lease_ttl_s=30)
    try:
        assert store.leader.acquire(timeout_s=10)
        store.put_agent("a-S1", {"v": 1})
        auth_etcd.stop()
        auth_etcd.start()
        wait_until(lambda: _answers(store))
        store.put_agent("a-S1", {"v": 2})
        assert store.load_agents() == {"a-S1": {"v": 2}}
        assert "forgot this scheduler's token; logging in again" in caplog.text
    finally:
        store.leader.release()
        store.conn.close()


def _answers(store: StateStore) -> bool:
    try:
        store.ping()
        return True
    except StoreError:
        return False


def test_the_password_stays_out_of_repr():
    assert "etcd-Pa55word" not in repr(Credentials(USER, PASSWORD))
