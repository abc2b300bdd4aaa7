"""An agent the calico-dcos 0.4.0 framework configured, taken over by this installer.

The fixture is what 0.4.0 left with its default options (projectcalico/calico-dcos v0.4.0,
installer/installer.py: `cmd_install_docker_cluster_store` lines 391-453 writes
daemon.json's cluster-store, built from ETCD_ENDPOINTS by framework/config.py lines 70-88;
`cmd_install_cni` lines 322-388 writes `<config dir>/calico.cni` and moves the v1.5.5
plugins into the plugins dir; both keep state files under /etc/calico/installer/). The JSON
bytes are CPython 2.7's `json.dumps` of those dicts, as 0.4.0's PyInstaller build wrote them.
"""

import json

from tests.installer.conftest import RESTART_OK, last_line
from tests.installer.test_cni_step import converge, inputs
from tests.installer.test_uninstall import uninstall_until_done

DAEMON_JSON = "/etc/docker/daemon.json"
CONFIGS = "/opt/mesosphere/etc/dcos/network/cni"
PLUGINS = "/opt/mesosphere/active/cni"
V040_STORE = "etcd://localhost:2379"
V040_DAEMON_JSON = '{"cluster-store": "etcd://localhost:2379"}'
V040_FILES = {
    "/etc/calico/installer/docker": b'{"docker-attempt-restart": true, "configured-docker": true}',
    "/etc/calico/installer/cni": b'{"cni-installed": true, "restarted-agent": true}',
    CONFIGS + "/calico.cni": b'{"ipam": {"type": "calico-ipam"}, "etcd_endpoints": '
                             b'"http://localhost:2379", "type": "calico", "name": "calico"}',
    PLUGINS + "/calico": b"calico CNI plugin v1.5.5\n",
    PLUGINS + "/calico-ipam": b"calico-ipam CNI plugin v1.5.5\n",
}


def v040_host(make_host):
    host = make_host(daemon_json=V040_DAEMON_JSON)
    for path, data in V040_FILES.items():
        target = host.file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    host.file(PLUGINS + "/calico").chmod(0o755)
    host.file(PLUGINS + "/calico-ipam").chmod(0o755)
    assert f"Cluster Store: {V040_STORE}" in host.docker("info").stdout
    return host


def networks(host) -> list[str]:
    """The network names Mesos would load from the config dir, one per file."""
    names = []
    for path in sorted(host.file(CONFIGS).iterdir()):
        names.append(json.loads(path.read_text())["name"])
    return names


def test_docker_set_up_by_040_is_adopted_without_a_restart_when_the_store_matches(make_host):
    host = v040_host(make_host)
    done = host.run("docker", "--cluster-store", V040_STORE, *RESTART_OK)
    assert done.returncode == 0, done.stderr
    assert last_line(done.stderr).endswith(f"cluster-store already set to {V040_STORE}")
    assert host.restarts("docker") == 0
    assert host.file(DAEMON_JSON).read_text() == V040_DAEMON_JSON


def test_a_different_store_restarts_docker_once_and_uninstall_puts_040s_file_back(make_host):
    host = v040_host(make_host)
    store = "etcd://127.0.0.1:2379"  # this package's default
    again = ("docker", "--cluster-store", store, *RESTART_OK)
    assert host.run(*again).returncode == 0
    assert json.loads(host.file(DAEMON_JSON).read_text()) == {
        "cluster-store": store, "cluster-advertise": "10.0.0.1:2375"}
    assert host.run(*again).returncode == 0
    assert host.restarts("docker") == 1
    uninstall_until_done(host)
    assert host.file(DAEMON_JSON).read_text() == V040_DAEMON_JSON  # as before this install
    assert host.restarts("docker") == 2


def test_040s_cni_config_is_moved_aside_so_one_config_declares_the_network(make_host):
    host = v040_host(make_host)
    before = host.snapshot()
    # The same plugin bytes as 0.4.0 placed: they stay as they are.
    args = inputs(host, calico=V040_FILES[PLUGINS + "/calico"],
                  ipam=V040_FILES[PLUGINS + "/calico-ipam"])
    assert converge(host, args) == [75, 0]
    assert sorted(networks(host)) == ["calico", "dcos"]
    assert not host.file(CONFIGS + "/calico.cni").exists()
    assert host.file(CONFIGS + "/calico.conf").exists()
    for plugin in ("/calico", "/calico-ipam"):
        assert host.file(PLUGINS + plugin).read_bytes() == V040_FILES[PLUGINS + plugin]
    again = host.run("cni", *args, *RESTART_OK)
    assert again.returncode == 0 and "already in place" in last_line(again.stderr)
    assert host.restarts("dcos-mesos-slave") == 1
    uninstall_until_done(host)
    assert host.snapshot() == before  # 0.4.0's calico.cni is back, ours is gone
