"""The stand-ins for what talks to etcd on an agent, against real etcd servers: dockerd
opening its `etcd://` cluster store and the Calico CNI plugins v1.11, both through the v2
API, and both failing where the real ones fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devcluster.etcd import EtcdServer
from devcluster.host import units
from devcluster.host.etcdv2 import Client
from devcluster.host.hostdir import HostDir
from devcluster.mirror import CNI_STANDIN, PROJECT_ROOT

NETWORK = {"name": "calico", "cniVersion": "0.2.0", "type": "calico", "mtu": 1500,
           "nodename": "n1", "ipam": {"type": "calico-ipam", "ipv4_pools": ["192.168.0.0/16"]}}


@pytest.fixture(scope="module")
def etcd_without_v2(tmp_path_factory):
    server = EtcdServer(tmp_path_factory.mktemp("no-v2"), enable_v2=False).start()
    yield server
    server.stop()


def _store_after_restart(host, store: str) -> dict:
    host.daemon_json.write_text(json.dumps({"cluster-store": store}))
    assert host.run("systemctl", "restart", "docker").returncode == 0
    host.run("docker", "info")  # settles the start job
    return units.load(HostDir(host.root), "docker")["store"]


def test_dockerd_opens_its_store_with_v2_calls_and_follows_the_members(host, etcd_server):
    store = _store_after_restart(host, "etcd://" + etcd_server.endpoint.split("//")[1])
    assert store["ok"] is True
    assert store["endpoints"] == [etcd_server.endpoint]  # the members' client URLs


def test_dockerd_cannot_open_a_store_without_the_v2_api(host, etcd_without_v2):
    store = _store_after_restart(host, "etcd://" + etcd_without_v2.endpoint.split("//")[1])
    assert store["ok"] is False and "/v2/members: 404" in store["error"]
    assert host.is_active("docker") == "active"  # dockerd runs on without its store


@pytest.fixture
def plugins(tmp_path):
    for name in ("calico", "calico-ipam"):
        path = tmp_path / name
        path.write_text(CNI_STANDIN.format(python=sys.executable, name=name,
                                           project=str(PROJECT_ROOT)))
        path.chmod(0o755)
    return tmp_path


def _cni(plugins, command: str, config: dict | bytes, container: str = "c1"):
    data = config if isinstance(config, bytes) else json.dumps(config).encode()
    env = {**os.environ, "CNI_COMMAND": command, "CNI_CONTAINERID": container,
           "CNI_IFNAME": "eth0", "CNI_NETNS": "/proc/1/ns/net", "CNI_PATH": str(plugins)}
    done = subprocess.run([str(plugins / "calico")], input=data, capture_output=True, env=env)
    return done.returncode, json.loads(done.stdout or b"{}")


def test_cni_plugin_answers_version_as_v1_11_does(plugins):
    done = subprocess.run([str(plugins / "calico"), "-v"], capture_output=True, text=True)
    assert done.stdout == "v1.11.8\n"
    code, out = _cni(plugins, "VERSION", {})
    assert code == 0 and out["supportedVersions"] == ["0.1.0", "0.2.0", "0.3.0", "0.3.1"]


@pytest.mark.parametrize("change, message", [
    ({"mtu": "1500"}, "cannot unmarshal string into Go struct field NetConf.mtu of type int"),
    ({"name": "calico net"}, "Invalid characters detected in the given network name"),
    ({"ipam": {"type": "calico-ipam", "ipv4_pools": "192.168.0.0/16"}},
     "cannot unmarshal string into Go struct field NetConf.ipam.ipv4_pools of type []string"),
])
def test_cni_plugin_refuses_a_config_calico_v1_11_refuses(plugins, etcd_server, change, message):
    code, out = _cni(plugins, "ADD", {**NETWORK, "etcd_endpoints": etcd_server.endpoint,
                                      **change})
    assert code == 1 and out["code"] == 100 and message in out["msg"]


def test_cni_plugin_adds_through_etcd_v2_in_the_configs_result_version(plugins, etcd_server):
    v2 = Client([etcd_server.endpoint])
    v2.set("/calico/v1/Ready", "true")
    v2.set("/calico/v1/ipam/v4/pool/192.168.0.0-16", json.dumps({"cidr": "192.168.0.0/16"}))
    config = {**NETWORK, "etcd_endpoints": etcd_server.endpoint}
    code, out = _cni(plugins, "ADD", config)
    assert code == 0, out
    assert out["ip4"]["ip"].startswith("192.168.")  # CNI 0.2.0: what Mesos 1.4-1.9 read
    endpoint = v2.get("/calico/v1/host/n1/workload/cni/c1/endpoint/eth0")["node"]["value"]
    assert json.loads(endpoint)["ipv4_nets"] == [out["ip4"]["ip"]]
    code, out = _cni(plugins, "ADD", {**config, "cniVersion": "0.3.1"}, container="c2")
    assert code == 0, out
    assert "ip4" not in out and out["ips"][0]["address"].startswith("192.168.")
    assert _cni(plugins, "DEL", config)[0] == 0
    assert _cni(plugins, "DEL", config)[0] == 0  # gone already: still fine


def test_cni_plugin_without_the_v2_api_fails_as_calico_does(plugins, etcd_without_v2):
    code, out = _cni(plugins, "ADD", {**NETWORK, "etcd_endpoints": etcd_without_v2.endpoint})
    assert code == 1 and "Unable to retreive ReadyFlag" in out["msg"] and "404" in out["msg"]


def test_calico_ipam_never_gives_one_address_twice_under_concurrent_adds(plugins, etcd_server,
                                                                         etcd_prefix):
    """Two nodes adding at once from one pool of a single block: each address is claimed
    with a compare-and-swap on the block, so all are distinct; DEL gives them back."""
    from concurrent.futures import ThreadPoolExecutor

    pool = f"10.{50 + int(etcd_prefix.rsplit('-', 1)[1]) % 150}.0.0/26"
    v2 = Client([etcd_server.endpoint])
    v2.set("/calico/v1/Ready", "true")
    v2.set(f"/calico/v1/ipam/v4/pool/{pool.replace('/', '-')}", json.dumps({"cidr": pool}))
    configs = [{**NETWORK, "etcd_endpoints": etcd_server.endpoint, "nodename": node,
                "ipam": {"type": "calico-ipam", "ipv4_pools": [pool]}} for node in ("a", "b")]
    jobs = [(configs[i % 2], f"{etcd_prefix[1:]}-{i}") for i in range(12)]
    with ThreadPoolExecutor(12) as executor:
        results = list(executor.map(lambda job: _cni(plugins, "ADD", job[0], job[1]), jobs))
    assert all(code == 0 for code, _ in results), results
    addresses = [out["ip4"]["ip"] for _, out in results]
    assert len(set(addresses)) == 12
    for config, container in jobs:
        assert _cni(plugins, "DEL", config, container)[0] == 0
    block = json.loads(v2.get(f"/calico/ipam/v2/assignment/ipv4/block/"
                              f"{pool.replace('/', '-')}")["node"]["value"])
    assert len(block["unallocated"]) == 64
    assert all(attr is None for attr in block["allocations"])
