"""calico/node's services on a simulated host with its own network namespace (root): BIRD
accepts connections on port 179 of the host's addresses from the moment the image's startup
succeeded until the container stops, however it stops; the libnetwork plugin's sockets exist
for exactly as long."""

from __future__ import annotations

import socket

import pytest

from devcluster import netns
from devcluster.etcd import EtcdServer
from devcluster.host import faults, node_daemons
from tests.wait import wait_until

pytestmark = pytest.mark.skipif(not netns.available(), reason="network namespaces need root")


@pytest.fixture
def network():
    cluster = netns.ClusterNetwork(2)
    yield cluster
    cluster.stop()


@pytest.fixture
def etcd(tmp_path, network):
    server = EtcdServer(tmp_path / "etcd", host=network.gateway).start()
    yield server
    server.stop()


@pytest.fixture
def node_host(make_host, network):
    def make(**overrides):
        name, address = network.add_host(len(network._namespaces))
        return make_host(netns=name, ip=address, **overrides)
    return make


def _bgp_open(host) -> bool:
    with netns.entered(host.spec.netns):
        try:
            socket.create_connection((host.spec.ip, node_daemons.BGP_PORT), timeout=2).close()
        except OSError:
            return False
    return True


def _plugins(host) -> bool:
    return all(node_daemons.plugin_socket(host.root, n).exists()
               for n in node_daemons.PLUGIN_NAMES)


def _run_node(host, etcd, *extra: str) -> None:
    done = host.run("docker", "run", "-d", "--name", "calico-node", "--net=host",
                    "-e", f"ETCD_ENDPOINTS={etcd.endpoint}", "-e", "CALICO_LIBNETWORK_ENABLED=true",
                    *extra, "calico/node:v2.6.12")
    assert done.returncode == 0, done.stderr


def _closed(host) -> None:
    wait_until(lambda: not _bgp_open(host), what="port 179 closed")
    wait_until(lambda: not _plugins(host), what="the plugin sockets removed")


@pytest.mark.parametrize("stop", [
    ("docker", "stop", "calico-node"), ("docker", "kill", "calico-node"),
    ("docker", "rm", "-f", "calico-node"), ("systemctl", "stop", "docker"),
])
def test_bird_listens_while_calico_node_runs_and_stops_with_it(node_host, etcd, stop):
    host = node_host()
    assert not _bgp_open(host)
    _run_node(host, etcd)
    wait_until(lambda: _bgp_open(host), what="BIRD listening on port 179")
    assert _plugins(host)
    assert host.run(*stop).returncode == 0
    _closed(host)


def test_the_container_exiting_closes_the_port(node_host, etcd):
    host = node_host()
    _run_node(host, etcd)
    wait_until(lambda: _bgp_open(host), what="BIRD listening")
    faults.set_fault(host.root, "container_exit", {"calico-node": 1})
    _closed(host)


def test_live_restore_keeps_bird_through_a_daemon_stop(node_host, etcd):
    host = node_host(daemon_json='{"live-restore": true}')
    _run_node(host, etcd)
    wait_until(lambda: _bgp_open(host), what="BIRD listening")
    assert host.run("systemctl", "stop", "docker").returncode == 0
    assert _bgp_open(host) and _plugins(host)


def test_without_libnetwork_there_are_no_plugin_sockets(node_host, etcd):
    host = node_host()
    done = host.run("docker", "run", "-d", "--name", "calico-node",
                    "-e", f"ETCD_ENDPOINTS={etcd.endpoint}", "calico/node:v2.6.12")
    assert done.returncode == 0
    wait_until(lambda: _bgp_open(host), what="BIRD listening")
    assert not any(node_daemons.plugin_socket(host.root, n).exists()
                   for n in node_daemons.PLUGIN_NAMES)
    host.run("docker", "rm", "-f", "calico-node")
    wait_until(lambda: not _bgp_open(host), what="port 179 closed")


def test_a_failed_startup_never_opens_the_port(node_host, network):
    host = node_host()
    done = host.run("docker", "run", "--name", "calico-node",
                    "-e", f"ETCD_ENDPOINTS=http://{network.gateway}:1", "calico/node:v2.6.12")
    assert done.returncode == 1 and "Terminating" in done.stderr
    assert not _bgp_open(host) and not _plugins(host)


def test_a_foreground_calico_node_serves_bird_until_it_is_stopped(node_host, etcd):
    host = node_host()
    run = host.popen("docker", "run", "--name", "calico-node", "--net=host",
                     "-e", f"ETCD_ENDPOINTS={etcd.endpoint}",
                     "-e", "CALICO_LIBNETWORK_ENABLED=true", "calico/node:v2.6.12")
    try:
        wait_until(lambda: _bgp_open(host), what="BIRD listening")
        assert _plugins(host)
        assert host.run("docker", "stop", "calico-node").returncode == 0
        assert run.wait(timeout=30) == 0
        assert not _bgp_open(host) and not _plugins(host)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
