"""`uninstall` after a full install leaves the host's files exactly as they were."""

import json

import pytest

from tests.installer.conftest import FAST_TIMING, RESTART_OK, last_line
from tests.installer.test_cni_step import inputs

STORE = "etcd://127.0.0.1:2379"
ODD_DAEMON_JSON = '{ "log-driver":"journald",\n\t"debug" : true }'


def install(host):
    assert host.run("docker", "--cluster-store", STORE, *RESTART_OK).returncode == 0
    args = inputs(host)
    codes = [host.run("cni", *args, *RESTART_OK).returncode for _ in range(2)]
    assert codes == [75, 0]
    assert host.docker("run", "-d", "--name", "calico-node", "calico/node:v3").returncode == 0


def uninstall_until_done(host, crash_at=None, max_runs=4):
    codes = []
    for _ in range(max_runs):
        done = host.run("uninstall", *FAST_TIMING, crash_at=crash_at)
        codes.append(done.returncode)
        if done.returncode == -9:
            crash_at = None  # one kill, then plain re-runs
        if done.returncode == 0:
            return codes
        assert done.returncode in (75, -9), done.stderr
    raise AssertionError(f"uninstall did not finish: {codes}")


@pytest.mark.parametrize("daemon_json", [None, ODD_DAEMON_JSON])
def test_uninstall_restores_the_tree(make_host, daemon_json):
    host = make_host(daemon_json=daemon_json)
    host.file("/opt/mesosphere/active/cni/calico").write_bytes(b"someone else's calico")
    before = host.snapshot()
    install(host)
    assert host.snapshot() != before
    assert uninstall_until_done(host) == [75, 0]
    assert host.snapshot() == before
    # the install took the store by reload; removing it takes a restart
    assert host.restarts("dcos-mesos-slave") == 2 and host.restarts("docker") == 1
    assert host.docker("inspect", "calico-node").returncode != 0
    assert host.unit_state("docker") == "active"
    again = host.run("uninstall", *FAST_TIMING)
    assert again.returncode == 0 and host.restarts("docker") == 1
    assert host.snapshot() == before


def test_uninstall_keeps_keys_added_after_install(make_host):
    host = make_host(daemon_json='{"debug": true}\n')
    install(host)
    path = host.file("/etc/docker/daemon.json")
    settings = json.loads(path.read_text())
    settings["log-level"] = "warn"
    path.write_text(json.dumps(settings))
    uninstall_until_done(host)
    assert json.loads(path.read_text()) == {"debug": True, "log-level": "warn"}


def test_uninstall_puts_back_a_previous_cluster_store(make_host):
    host = make_host(daemon_json='{"cluster-store": "consul://c:8500"}\n')
    before = host.snapshot()
    install(host)
    uninstall_until_done(host)
    assert host.snapshot() == before
    assert "Cluster Store: consul://c:8500" in host.docker("info").stdout


def test_uninstall_on_a_clean_host_does_nothing(make_host):
    host = make_host()
    before = host.snapshot()
    done = host.run("uninstall", *FAST_TIMING)
    assert done.returncode == 0, done.stderr
    assert host.snapshot() == before
    assert host.restarts("docker") == 0 and host.restarts("dcos-mesos-slave") == 0


def install_cni(host):
    args = inputs(host)
    assert [host.run("cni", *args, *RESTART_OK).returncode for _ in range(2)] == [75, 0]


def install_docker(host):
    assert host.run("docker", "--cluster-store", STORE, *RESTART_OK).returncode == 0


# Each point with only the step it belongs to installed (the other's path is the same).
UNINSTALL_POINTS = [
    ("cni:removing", install_cni), ("cni:removed-restarting", install_cni),
    ("restarted:dcos-mesos-slave", install_cni), ("docker:backed-up", install_docker),
    ("docker:written", install_docker), ("docker:restarting", install_docker),
    ("restarted:docker", install_docker), ("docker:uninstalled", install_docker),
]


@pytest.mark.parametrize("point, install_step", UNINSTALL_POINTS,
                         ids=[point for point, _ in UNINSTALL_POINTS])
def test_kill_at_every_uninstall_point_converges(make_host, point, install_step):
    host = make_host(daemon_json=ODD_DAEMON_JSON)
    before = host.snapshot()
    install_step(host)
    codes = uninstall_until_done(host, crash_at=point)
    assert -9 in codes
    assert host.snapshot() == before
    cni = install_step is install_cni
    assert host.restarts("dcos-mesos-slave") == (2 if cni else 0)
    assert host.restarts("docker") == (0 if cni else 1)  # installed by reload


def test_malformed_daemon_json_stops_uninstall_with_reason(make_host):
    host = make_host()
    install(host)
    host.file("/etc/docker/daemon.json").write_text("{broken")
    codes = []
    for _ in range(2):
        done = host.run("uninstall", *FAST_TIMING)
        codes.append(done.returncode)
    assert codes == [75, 1]
    assert last_line(done.stderr).startswith("malformed /etc/docker/daemon.json")
    assert host.file("/etc/docker/daemon.json").read_text() == "{broken"


def test_dirs_created_by_the_install_are_removed(make_host):
    host = make_host()
    host.file("/etc/docker").rmdir()
    cni_dir = host.file("/opt/mesosphere/active/cni")
    cni_dir.rmdir()
    before = host.snapshot()
    install(host)
    assert host.file("/etc/docker/daemon.json").exists() and cni_dir.is_dir()
    uninstall_until_done(host)
    assert host.snapshot() == before
