"""Key layout and configuration checks: no name can reach outside its framework's subtree."""

from __future__ import annotations

import pytest

from framework.state import EtcdConnection, StateStore, StoreConfigError, TLSFiles
from framework.state.connection import parse_endpoint
from framework.state.keys import Keyspace, check_root, range_end

BAD_NAMES = ["", "/", "..", ".", "...", "a/b", "/calico", "calico/", "ca lico", "-x", "a\0b",
             "a\nb", "x" * 129, None, 7, "calico*", "é"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_framework_names_are_refused(name):
    with pytest.raises(StoreConfigError):
        Keyspace("/calico-dcos", name)


@pytest.mark.parametrize("root", ["", "/", "calico-dcos", "/calico-dcos/", "//x", "/a/../b",
                                  "/a//b", None])
def test_bad_roots_are_refused(root):
    with pytest.raises(StoreConfigError):
        check_root(root)


@pytest.mark.parametrize("agent_id", ["", "../x", "a/b", "a b", "\0"])
def test_bad_agent_ids_are_refused(agent_id):
    with pytest.raises(StoreConfigError):
        Keyspace("/calico-dcos", "calico").agent(agent_id)


def test_store_refuses_a_bad_name_before_touching_etcd():
    conn = EtcdConnection(["http://127.0.0.1:9"])
    with pytest.raises(StoreConfigError):
        StateStore(conn, "..", root="/calico-dcos")
    conn.close()


def test_prefix_is_one_subtree_and_excludes_siblings():
    keys = Keyspace("/calico-dcos", "calico")
    assert keys.prefix == "/calico-dcos/calico/"
    assert keys.agent("0ab-S1") == "/calico-dcos/calico/agents/0ab-S1"
    sibling = Keyspace("/calico-dcos", "calico-2").prefix
    assert not sibling.startswith(keys.prefix)
    assert not keys.prefix <= sibling < range_end(keys.prefix)


def test_event_keys_sort_in_sequence_order():
    keys = Keyspace("/r", "calico")
    assert sorted([keys.event(10), keys.event(9), keys.event(100)]) == \
        [keys.event(9), keys.event(10), keys.event(100)]
    assert keys.seq_of(keys.event(123)) == 123


@pytest.mark.parametrize("text,url", [
    ("http://10.0.0.1:2379", "http://10.0.0.1:2379"),
    ("https://etcd.local:4001", "https://etcd.local:4001"),
    ("http://etcd.local", "http://etcd.local:2379"),
    ("http://[::1]:2379/", "http://[::1]:2379"),
])
def test_endpoints_parse(text, url):
    assert parse_endpoint(text).url == url


@pytest.mark.parametrize("text", ["10.0.0.1:2379", "ftp://h:1", "http://", "http://h:99999",
                                  "http://h:1/v2", "http://u:p@h:1", "http://h:x"])
def test_bad_endpoints_are_refused(text):
    with pytest.raises(StoreConfigError):
        parse_endpoint(text)


def test_connection_checks_its_settings(tmp_path):
    with pytest.raises(StoreConfigError):
        EtcdConnection([])
    with pytest.raises(StoreConfigError):
        EtcdConnection("http://h:1")
    with pytest.raises(StoreConfigError, match="CA"):
        EtcdConnection(["https://h:1"])
    with pytest.raises(StoreConfigError, match="does not exist"):
        TLSFiles(str(tmp_path / "missing-ca.pem"))
    with pytest.raises(StoreConfigError, match="CA"):
        TLSFiles(None, cert_file="c.pem", key_file="k.pem")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(StoreConfigError, match="key"):
        TLSFiles(str(ca), cert_file=str(ca))
