"""The TaskInfos a real cluster gets with the package's defaults: their fetcher URIs and
installer arguments, checked against the Mesos fetcher's semantics."""

from __future__ import annotations

import pytest

from framework.config import defaults, load
from framework.engine import Launch
from framework.engine.tasks import INSTALLER_EXIT_REASONS, explained
from framework.mesos import network_address
from framework.taskinfo import ArtifactUrls, archive_name, task_info
from installer import errors
from tests.framework.test_glue import OFFER

URLS = ArtifactUrls("http://s:1/artifacts/calico-installer.pyz", "http://s:1/artifacts/c.conf")
PEERS = ("http://e1:2380", "https://e2:2380")


def _task(step: str, env: dict | None = None, peers=PEERS) -> dict:
    launch = Launch("o1", "a1", f"calico-{step}.a1.1", step, "*", 0.1, 64.0, "h")
    return task_info(load([], env or {}), launch, OFFER, URLS, "h1", peers)


def test_etcd_proxy_fetches_the_release_archive_as_a_plain_file():
    task = _task("etcd-proxy")
    uri = task["command"]["uris"][1]
    # Executable URIs are never extracted, and this one must not be extracted before its
    # digest is checked: a plain file whose name keeps the archive suffix.
    assert uri == {"value": defaults.ETCD_BINARY_URL, "extract": False, "cache": True,
                   "output_file": defaults.ETCD_ARCHIVE_NAME}
    args = task["command"]["arguments"]
    assert args[2:] == ["etcd-proxy", "--archive", defaults.ETCD_ARCHIVE_NAME,
                        "--sha256", defaults.ETCD_ARCHIVE_SHA256,
                        "--peer-urls", ",".join(PEERS)]
    check = task["health_check"]
    assert check["type"] == "HTTP" and check["http"]["port"] == 2379
    assert check["http"]["path"].startswith("/v2/")


def test_a_mirror_keeps_the_pinned_digest_a_repacked_archive_brings_its_own():
    mirrored = defaults.ETCD_BINARY_URL.replace("https://github.com", "http://mirror:8080")
    args = _task("etcd-proxy", {"CALICO_ETCD_PROXY_BINARY_URL": mirrored})["command"]["arguments"]
    assert args[args.index("--sha256") + 1] == defaults.ETCD_ARCHIVE_SHA256
    other = _task("etcd-proxy", {"CALICO_ETCD_PROXY_BINARY_URL": "http://m/etcd-custom.tar.gz"})
    assert "--sha256" not in other["command"]["arguments"]
    assert other["command"]["uris"][1]["output_file"] == "etcd-custom.tar.gz"


def test_srv_discovery_replaces_the_peer_list_and_tls_files_follow():
    args = _task("etcd-proxy", {"CALICO_ETCD_DISCOVERY_SRV": "etcd.mesos"})["command"]["arguments"]
    assert args[args.index("--discovery-srv") + 1] == "etcd.mesos"
    assert "--peer-urls" not in args


def test_the_proxy_needs_peers_or_a_domain():
    with pytest.raises(ValueError, match="peer URLs or an SRV domain"):
        _task("etcd-proxy", peers=())


def test_cni_passes_the_configured_plugin_digests():
    plain = _task("cni")["command"]
    assert "--calico-sha256" not in plain["arguments"]
    pinned = _task("cni", {"CALICO_CNI_PLUGIN_SHA256": "a" * 64,
                           "CALICO_CNI_IPAM_SHA256": "b" * 64})["command"]["arguments"]
    assert pinned[pinned.index("--calico-sha256") + 1] == "a" * 64
    assert pinned[pinned.index("--ipam-sha256") + 1] == "b" * 64


@pytest.mark.parametrize("url, name", [
    ("https://h/etcd-v3.5.33-linux-amd64.tar.gz", "etcd-v3.5.33-linux-amd64.tar.gz"),
    ("https://h/dl?file=etcd", "etcd.tar.gz"),
    ("https://h/etcd.tgz", "etcd.tgz"),
])
def test_archive_names_keep_a_suffix_the_installer_can_open(url, name):
    assert archive_name(url) == name


def test_every_documented_installer_exit_has_a_worded_reason():
    documented = {cls.exit_code for cls in (errors.ChecksumMismatch, errors.NoEtcdV2,
                                            errors.NoEtcdMember, errors.DcosCalico,
                                            errors.PeerUnreachable, errors.DockerNetworkFailed)}
    assert documented == set(INSTALLER_EXIT_REASONS)
    assert explained("Command exited with status 81").startswith(
        "Command exited with status 81: the etcd behind this agent's proxy")
    assert explained("Command exited with status 1") == "Command exited with status 1"
    assert explained("Command exited with status 810") == "Command exited with status 810"


def _arguments(step: str, allow_restart: bool, env: dict | None = None) -> list[str]:
    launch = Launch("o1", "a1", f"calico-{step}.a1.1", step, "*", 0.1, 64.0, "h",
                    allow_restart=allow_restart)
    return task_info(load([], env or {}), launch, OFFER, URLS, "h1", PEERS)[
        "command"]["arguments"]


@pytest.mark.parametrize("step", ["docker", "cni"])
def test_only_a_launch_holding_a_restart_slot_lets_the_installer_restart(step):
    assert "--allow-restart" in _arguments(step, True)
    assert "--allow-restart" not in _arguments(step, False)


def test_live_restore_is_passed_only_when_the_option_is_on():
    assert "--live-restore" not in _arguments("docker", False)
    assert "--live-restore" in _arguments("docker", False,
                                          {"CALICO_DOCKER_LIVE_RESTORE": "true"})


def test_the_verify_task_joins_the_cni_network_and_reaches_the_agents_bgp_port():
    offer = {**OFFER, "url": {"scheme": "http", "address": {"hostname": "h1", "ip": "10.0.4.7",
                                                            "port": 5051}}}
    launch = Launch("o1", "a1-S3", "calico-verify.a1-S3.1", "verify", "*", 0.1, 64.0, "h")
    task = task_info(load([], {"CALICO_CNI_NETWORK_NAME": "tasks"}), launch, offer, URLS, "h1")
    assert task["container"] == {"type": "MESOS", "network_infos": [{"name": "tasks"}]}
    assert task["command"]["arguments"][2:] == [
        "verify", "--peer", "10.0.4.7:179", "--docker-network", "calico-verify-a1-S3"]
    assert "health_check" not in task
    without_docker = task_info(load([], {"CALICO_DOCKER_ENABLED": "false"}), launch, offer,
                               URLS, "h1")
    assert without_docker["command"]["arguments"][2:] == ["verify", "--peer", "10.0.4.7:179"]
    v6 = {**OFFER, "url": {"address": {"ip": "fd00::7"}}}
    assert task_info(load([], {}), launch, v6, URLS, "h1")["command"]["arguments"][4] == (
        "[fd00::7]:179")


def test_calico_node_is_healthy_once_bird_answers():
    command = _task("calico-node")["health_check"]["command"]
    assert command == {"shell": True, "value": (
        "docker inspect --format '{{.State.Running}}' calico-node | grep -qx true"
        " && bash -c ': </dev/tcp/127.0.0.1/179'")}
    unverified = _task("calico-node", {"CALICO_VERIFY_ENABLED": "false"})
    assert unverified["health_check"]["command"]["value"] == (
        "docker inspect --format '{{.State.Running}}' calico-node | grep -qx true")


def test_the_address_of_a_task_comes_from_its_named_network():
    update = {"container_status": {"network_infos": [
        {"ip_addresses": [{"protocol": "IPv4", "ip_address": "10.0.4.7"}]},
        {"name": "calico", "ip_addresses": [{"protocol": "IPv4", "ip_address": "192.168.3.4"}]},
    ]}}
    assert network_address(update) == "192.168.3.4"
    host_network = {"container_status": {"network_infos": [
        {"ip_addresses": [{"ip_address": "10.0.4.7"}]}]}}
    assert network_address(host_network) is None
    assert network_address({"container_status": {"network_infos": [
        {"name": "calico", "ip_addresses": []}]}}) is None
    assert network_address({}) is None
