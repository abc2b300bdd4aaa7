"""`docker network create --driver calico --ipam-driver calico-ipam` and its removal on
simulated hosts: the drivers exist only while calico/node runs with libnetwork enabled, the
network lives in the daemons' shared cluster store, and each way it fails gives the daemon's
own error."""

from __future__ import annotations

import json

import pytest

from tests.wait import wait_until

CREATE = ("docker", "network", "create", "--driver", "calico", "--ipam-driver", "calico-ipam")


@pytest.fixture
def store_host(make_host, etcd_server, etcd_prefix):
    """make_host(**overrides) with a cluster store on the shared etcd (under etcd_prefix)."""
    address = etcd_server.endpoint.removeprefix("http://")
    made = []

    def make(store: str | None = f"etcd://{address}{etcd_prefix}", **overrides):
        config = {"cluster-store": store, "cluster-advertise": "eth0:2376"} if store else {}
        host = make_host(daemon_json=json.dumps(config), **overrides)
        made.append(host)
        return host

    yield make
    for host in made:  # calico/node's services end with their container
        host.run("docker", "rm", "-f", "calico-node")


def _calico_node(host, etcd_server, libnetwork: str = "true") -> None:
    done = host.run("docker", "run", "-d", "--name", "calico-node", "--net=host",
                    "-e", f"ETCD_ENDPOINTS={etcd_server.endpoint}",
                    "-e", f"CALICO_LIBNETWORK_ENABLED={libnetwork}", "calico/node:v2.6.12")
    assert done.returncode == 0, done.stderr
    if libnetwork == "true":
        wait_until(lambda: (host.root / "run/docker/plugins/calico.sock").exists(),
                   what="the libnetwork plugin's socket")


def _names(host) -> list[str]:
    done = host.run("docker", "network", "ls", "--format", "{{.Name}}")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_global_network_is_seen_by_every_host_on_the_store_and_removed(store_host,
                                                                          etcd_server):
    first, second = store_host(), store_host()
    _calico_node(first, etcd_server)
    _calico_node(second, etcd_server)
    done = first.run(*CREATE, "verify-net")
    assert done.returncode == 0, done.stderr
    network_id = done.stdout.strip()
    assert len(network_id) == 64
    assert "verify-net" in _names(second)  # through the store: scope global
    row = second.run("docker", "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
    assert "verify-net calico global" in row.stdout.splitlines()
    inspect = second.run("docker", "network", "inspect", "-f", "{{.Id}}", "verify-net")
    assert inspect.stdout.strip() == network_id
    again = second.run(*CREATE, "verify-net")
    assert again.returncode == 1
    assert "Error response from daemon: network with name verify-net already exists" in \
        again.stderr
    removed = second.run("docker", "network", "rm", "verify-net")
    assert removed.returncode == 0 and removed.stdout.strip() == "verify-net"
    assert "verify-net" not in _names(first)
    missing = first.run("docker", "network", "rm", "verify-net")
    assert missing.returncode == 1 and "Error: No such network: verify-net" in missing.stderr


@pytest.mark.parametrize("version, message", [
    ("17.06.2-ce", "Error response from daemon: legacy plugin: plugin not found"),
    ("18.09.9", 'Error response from daemon: plugin "calico" not found'),
])
def test_without_calico_node_the_driver_is_not_found(store_host, etcd_server, version,
                                                     message):
    host = store_host(docker_version=version)
    done = host.run(*CREATE, "n1")
    assert done.returncode == 1 and message in done.stderr
    _calico_node(host, etcd_server, libnetwork="false")  # BIRD, but no libnetwork plugin
    assert message in host.run(*CREATE, "n1").stderr
    host.run("docker", "rm", "-f", "calico-node")
    _calico_node(host, etcd_server)
    assert host.run(*CREATE, "n1").returncode == 0
    assert host.run("docker", "stop", "calico-node").returncode == 0
    wait_until(lambda: not (host.root / "run/docker/plugins/calico.sock").exists(),
               what="the plugin's socket gone with calico/node")
    assert message in host.run(*CREATE, "n2").stderr
    gone = host.run("docker", "network", "rm", "n1")
    assert gone.returncode == 1 and "failed deleting network" in gone.stderr
    host.run("docker", "rm", "calico-node")
    _calico_node(host, etcd_server)
    assert host.run("docker", "network", "rm", "n1").returncode == 0


def test_a_global_driver_needs_a_cluster_store(store_host, etcd_server):
    host = store_host(store=None)
    _calico_node(host, etcd_server)
    done = host.run(*CREATE, "n1")
    assert done.returncode == 1
    assert 'Error response from daemon: datastore for scope "global" is not initialized' in \
        done.stderr
    assert "n1" not in _names(host)


def test_an_unreachable_store_fails_the_write(store_host, etcd_server):
    host = store_host(store="etcd://127.0.0.1:1")
    _calico_node(host, etcd_server)
    done = host.run(*CREATE, "n1")
    assert done.returncode == 1
    assert "failed to update store for object type *libnetwork.endpointCnt: client: etcd " \
           "cluster is unavailable or misconfigured" in done.stderr


def test_calico_networks_need_calico_ipam(store_host, etcd_server):
    host = store_host()
    _calico_node(host, etcd_server)
    done = host.run("docker", "network", "create", "--driver", "calico", "n1")
    assert done.returncode == 1
    assert "Error response from daemon: NetworkDriver.CreateNetwork: Non-Calico IPAM driver " \
           "is used" in done.stderr
