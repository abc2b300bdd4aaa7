"""daemon.json parsing and merging, version support, unit-flag detection."""

import json
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from installer import dockerconf
from installer.errors import BadInput, HostError


@pytest.mark.parametrize("text, expected", [
    ("1.13.1", (1, 13, 1)),
    ("17.05.0-ce", (17, 5, 0)),
    ("20.10.7+dfsg1", (20, 10, 7)),
    ("1.12.6-cs13\n", (1, 12, 6)),
    ("24.0", (24, 0, 0)),
    ("v1.10.0", (1, 10, 0)),
])
def test_parse_version(text, expected):
    assert dockerconf.parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "dev", "abc.def", "Error: no daemon"])
def test_parse_version_rejects_garbage(text):
    with pytest.raises(HostError, match="unrecognised Docker version"):
        dockerconf.parse_version(text)


@pytest.mark.parametrize("version, supported", [
    ((1, 9, 1), False), ((1, 10, 0), True), ((1, 13, 1), True), ((17, 3, 2), True),
    ((20, 10, 24), True), ((22, 99, 0), True), ((23, 0, 0), False), ((24, 0, 5), False),
])
def test_supports_cluster_store(version, supported):
    assert dockerconf.supports_cluster_store(version) is supported


@pytest.mark.parametrize("data", [None, b"", b"  \n"])
def test_absent_or_blank_daemon_json_is_empty(data):
    assert dockerconf.parse_daemon_json(data, "/etc/docker/daemon.json") == {}


@pytest.mark.parametrize("data, why", [
    (b"{not json", "malformed"),
    (b"[1, 2]", "not a JSON object"),
    (b"\xff\xfe", "malformed"),
    (b'"string"', "not a JSON object"),
])
def test_malformed_daemon_json(data, why):
    with pytest.raises(BadInput, match=why) as caught:
        dockerconf.parse_daemon_json(data, "/etc/docker/daemon.json")
    assert "\n" not in caught.value.reason
    assert "/etc/docker/daemon.json" in caught.value.reason


def test_apply_keeps_other_keys_in_order():
    settings = dockerconf.parse_daemon_json(
        b'{"log-driver": "journald", "cluster-store": "etcd://old:2379", "debug": true}', "p")
    merged = dockerconf.apply(settings, dockerconf.desired_settings("etcd://new:2379", {}))
    assert list(merged) == ["log-driver", "cluster-store", "debug"]
    assert merged["cluster-store"] == "etcd://new:2379"
    assert json.loads(dockerconf.render_daemon_json(merged)) == merged


def test_apply_sets_and_drops_store_opts():
    with_opts = dockerconf.desired_settings("etcd://e:2379", {"kv.cacertfile": "/ca.pem"})
    merged = dockerconf.apply(OrderedDict(), with_opts)
    assert merged["cluster-store-opts"] == {"kv.cacertfile": "/ca.pem"}
    without = dockerconf.apply(merged, dockerconf.desired_settings("etcd://e:2379", {}))
    assert "cluster-store-opts" not in without


def test_holds():
    desired = dockerconf.desired_settings("etcd://e:2379", {})
    assert dockerconf.holds({"cluster-store": "etcd://e:2379", "x": 1}, desired)
    assert not dockerconf.holds({"cluster-store": "etcd://f:2379"}, desired)
    assert not dockerconf.holds({}, desired)


def test_snapshot_and_restore_round_trip():
    before = OrderedDict([("debug", True), ("cluster-store", "consul://c:8500")])
    keys = ["cluster-store", "cluster-store-opts"]
    saved = json.loads(json.dumps(dockerconf.snapshot(before, keys)))
    changed = dockerconf.apply(before, dockerconf.desired_settings("etcd://e", {"a": "b"}))
    assert dockerconf.restore(changed, saved) == before


def test_restore_removes_keys_that_were_absent():
    saved = dockerconf.snapshot({}, ["cluster-store"])
    assert dockerconf.restore({"cluster-store": "etcd://e", "debug": True}, saved) == {
        "debug": True}


@pytest.mark.parametrize("text, values", [
    ("ExecStart=/usr/bin/dockerd --cluster-store=etcd://a:2379 -H fd://", ["etcd://a:2379"]),
    ("ExecStart=/usr/bin/dockerd --cluster-store etcd://b:2379", ["etcd://b:2379"]),
    ('OPTIONS="--cluster-store=\'consul://c:8500\'"', ["consul://c:8500"]),
    ("ExecStart=/usr/bin/dockerd --cluster-store-opt kv.cacertfile=/x", []),
    ("ExecStart=/usr/bin/dockerd", []),
])
def test_flag_values(text, values):
    assert dockerconf.flag_values([text]) == values


_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
_keys = st.sampled_from(["cluster-store", "cluster-store-opts", "debug", "log-driver", "x"])


@settings(derandomize=True, max_examples=200, deadline=None)
@given(current=st.dictionaries(_keys, _values, max_size=5),
       store=st.text(min_size=1, max_size=10),
       opts=st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=2))
def test_apply_then_restore_gives_back_the_settings(current, store, opts):
    desired = dockerconf.desired_settings(store, opts)
    keys = ["cluster-store", "cluster-store-opts"]
    saved = json.loads(json.dumps(dockerconf.snapshot(current, keys)))
    applied = dockerconf.apply(OrderedDict(current), desired)
    assert dockerconf.holds(applied, desired)
    assert {k: v for k, v in applied.items() if k not in keys} == {
        k: v for k, v in current.items() if k not in keys}
    round_trip = json.loads(dockerconf.render_daemon_json(applied))
    assert dockerconf.restore(round_trip, saved) == current
