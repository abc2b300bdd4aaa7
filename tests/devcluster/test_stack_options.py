"""What the dev stack tells the scheduler: the package's defaults, with only the hosts of the
artifact URLs (and the mirror archive's digest) and the cluster's addresses changed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from devcluster import netns
from devcluster.stack import DevStack, StackOptions
from framework.config import defaults

DEFAULT_URLS = {"CALICO_ETCD_PROXY_BINARY_URL": defaults.ETCD_BINARY_URL,
                "CALICO_CNI_PLUGIN_URL": defaults.CALICO_CNI_URL,
                "CALICO_CNI_IPAM_URL": defaults.CALICO_IPAM_URL}


def _env(tmp_path, host_netns: bool) -> tuple[DevStack, dict]:
    stack = DevStack(tmp_path, StackOptions(host_netns=host_netns))
    return stack, stack.scheduler_env()


def test_only_the_hosts_of_the_release_urls_change(tmp_path):
    stack, env = _env(tmp_path, host_netns=False)
    try:
        for name, default in DEFAULT_URLS.items():
            assert urlsplit(env[name]).path == urlsplit(default).path
            assert urlsplit(env[name]).hostname == stack.address
        assert env["CALICO_ETCD_PROXY_BINARY_SHA256"] == stack.artifacts.etcd_archive_sha256
        assert not any(name.startswith("CALICO_CNI_") and name.endswith("SHA256") for name in env)
    finally:
        stack.stop()


def test_a_shared_network_turns_the_per_agent_proxy_and_the_verification_off(tmp_path):
    stack, env = _env(tmp_path, host_netns=False)
    stack.stop()
    assert stack.address == "127.0.0.1"
    assert env["CALICO_ETCD_PROXY_ENABLED"] == "false"
    assert env["CALICO_VERIFY_ENABLED"] == "false"
    assert env["CALICO_DOCKER_CLUSTER_STORE"] == "etcd://" + stack.etcd.endpoint.split("//")[1]


@pytest.mark.skipif(not netns.available(), reason="network namespaces need root")
def test_with_namespaces_every_server_is_on_the_gateway_and_the_proxy_stays_on(tmp_path):
    stack, env = _env(tmp_path, host_netns=True)
    try:
        assert stack.address == stack.cluster.network.gateway
        assert env["CALICO_ETCD_ENDPOINTS"].startswith(f"http://{stack.address}:")
        assert env["MESOS_MASTER"].startswith(f"{stack.address}:")
        assert env["CALICO_BIND_ADDRESS"] == env["CALICO_FRAMEWORK_HOSTNAME"] == stack.address
        assert "CALICO_ETCD_PROXY_ENABLED" not in env
    finally:
        stack.stop()
