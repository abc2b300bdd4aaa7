"""`Config.step_hashes()`: a changed input re-runs exactly the step it belongs to."""

from __future__ import annotations

import pytest

from framework.config import STEP_ORDER, load

BASE = load([], {}).step_hashes()


@pytest.mark.parametrize("env, changed", [
    ({"CALICO_ETCD_PROXY_BINARY_URL": "https://mirror/etcd.tgz"}, {"etcd-proxy"}),
    ({"CALICO_ETCD_PROXY_BINARY_SHA256": "a" * 64}, {"etcd-proxy"}),
    ({"CALICO_ETCD_DISCOVERY_SRV": "etcd.mesos"}, {"etcd-proxy"}),
    ({"CALICO_ETCD_PROXY_MEM": "256"}, {"etcd-proxy"}),
    ({"CALICO_DOCKER_CLUSTER_STORE": "etcd://e1:2379"}, {"docker"}),
    ({"CALICO_CNI_PLUGIN_URL": "https://mirror/calico"}, {"cni"}),
    ({"CALICO_CNI_IPAM_URL": "https://mirror/calico-ipam"}, {"cni"}),
    ({"CALICO_CNI_PLUGIN_SHA256": "b" * 64}, {"cni"}),
    ({"CALICO_CNI_SUBNET": "10.1.0.0/16"}, {"cni", "calico-node"}),  # the pool it creates
    ({"CALICO_CNI_MTU": "1440"}, {"cni"}),
    ({"CALICO_CNI_NETWORK_NAME": "tasks"}, {"cni"}),
    ({"CALICO_NODE_IMAGE": "calico/node:v2.6.11"}, {"calico-node"}),
    ({"CALICO_NODE_IP_AUTODETECTION_METHOD": "can-reach=8.8.8.8"}, {"calico-node"}),
    ({"CALICO_NODE_FELIX_IGNORELOOSERPF": "false"}, {"calico-node"}),
    ({"CALICO_NODE_FELIX_ENV": '{"FELIX_LOGSEVERITYSCREEN": "debug"}'}, {"calico-node"}),
    ({"CALICO_NODE_CPUS": "0.5"}, {"calico-node"}),
    # the proxy's upstream changes; agents keep talking to the local proxy
    ({"CALICO_ETCD_ENDPOINTS": "http://e9:2379"}, {"etcd-proxy"}),
    # one-shot steps ignore their task resources; nothing re-runs for the installer's URL
    ({"CALICO_DOCKER_CPUS": "0.5", "CALICO_CNI_MEM": "128"}, set()),
    ({"CALICO_VERIFY_CPUS": "0.5", "CALICO_VERIFY_MEM": "128"}, set()),
    ({"CALICO_INSTALLER_URL": "https://mirror/calico-installer.pyz"}, set()),
    ({"CALICO_RESTART_TIMEOUT": "600", "CALICO_RESTART_STABLE_SECONDS": "1"}, set()),
    ({"CALICO_MAX_CONCURRENT_RESTARTS": "3", "CALICO_FRAMEWORK_NAME": "other"}, set()),
])
def test_a_changed_input_changes_only_its_steps_hash(env, changed):
    """... and the verify step's: whatever changes on an agent is verified afresh."""
    hashes = load([], env).step_hashes()
    expected = changed | {"verify"} if changed else set()
    assert {step for step in STEP_ORDER if hashes[step] != BASE[step]} == expected


def test_the_verify_step_follows_the_steps_it_checks():
    hashes = load([], {"CALICO_DOCKER_ENABLED": "false"}).step_hashes()
    assert hashes["verify"] != BASE["verify"]  # no Docker check without the docker step
    assert "verify" not in load([], {"CALICO_CNI_ENABLED": "false"}).enabled_steps()
    assert "verify" not in load([], {"CALICO_NODE_ENABLED": "false"}).enabled_steps()
    assert "verify" not in load([], {"CALICO_VERIFY_ENABLED": "false"}).enabled_steps()


def test_without_proxy_agents_use_the_cluster_etcd_directly():
    before = load([], {"CALICO_ETCD_PROXY_ENABLED": "false",
                       "CALICO_DOCKER_ENABLED": "false"}).step_hashes()
    after = load([], {"CALICO_ETCD_PROXY_ENABLED": "false", "CALICO_DOCKER_ENABLED": "false",
                      "CALICO_ETCD_ENDPOINTS": "http://e9:2379"}).step_hashes()
    assert {step for step in STEP_ORDER if before[step] != after[step]} == {
        "etcd-proxy", "cni", "calico-node", "verify"}


def test_hashes_are_stable_sha256_hex_for_every_step():
    hashes = load([], {}).step_hashes()
    assert list(hashes) == list(STEP_ORDER)
    assert hashes == load([], {}).step_hashes()
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in hashes.values())
    assert len(set(hashes.values())) == len(hashes)
