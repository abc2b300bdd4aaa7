"""dockerd's SIGHUP reload (systemctl reload docker) and live-restore, per Docker version."""

import json

import pytest

from devcluster.host import units
from devcluster.host.hostdir import HostDir
from devcluster.host.reload import reload, reload_order

STORE = "etcd://127.0.0.1:2379"
OTHER = "etcd://127.0.0.2:2379"
ADVERTISE = "127.0.1.1:2375"
DOCKERD = ["/usr/bin/dockerd", "-H", "fd://"]
VERSIONS = ("1.13.1", "17.06.2-ce", "17.12.1-ce", "18.09.9")


def info(host, field):
    return host.run("docker", "info", "-f", "{{." + field + "}}").stdout.strip()


def netstore(host):
    return units.load(HostDir(host.root), "docker").get("netstore")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_first_store_with_its_advertise_is_taken_by_reload(make_host, version):
    host = make_host(docker_version=version)
    host.daemon_json.write_text(json.dumps({"cluster-store": STORE,
                                            "cluster-advertise": ADVERTISE}))
    assert host.run("systemctl", "reload", "docker").returncode == 0
    assert info(host, "ClusterStore") == STORE
    assert info(host, "ClusterAdvertise") == ADVERTISE
    assert netstore(host) == STORE
    assert [e["action"] for e in host.events()] == ["reload", "reload"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_store_without_advertise_in_the_file_is_not_reloaded(make_host, version):
    host = make_host(docker_version=version)
    host.daemon_json.write_text(json.dumps({"cluster-store": STORE}))
    assert host.run("systemctl", "reload", "docker").returncode == 0
    assert info(host, "ClusterStore") == ""
    assert netstore(host) is None


@pytest.mark.parametrize("version", VERSIONS)
def test_a_changed_store_shows_in_info_but_libnetwork_keeps_the_old_one(make_host, version):
    host = make_host(docker_version=version,
                     daemon_json=json.dumps({"cluster-store": STORE,
                                             "cluster-advertise": ADVERTISE}))
    assert netstore(host) == STORE
    host.daemon_json.write_text(json.dumps({"cluster-store": OTHER,
                                            "cluster-advertise": ADVERTISE}))
    assert host.run("systemctl", "reload", "docker").returncode == 0
    assert info(host, "ClusterStore") == OTHER  # the daemon's config changed...
    assert netstore(host) == STORE  # ...libnetwork refused it (only logged)
    assert "modifies an existing datastore client" in host.events()[-1]["reason"]
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert netstore(host) == OTHER


@pytest.mark.parametrize("version", VERSIONS)
def test_live_restore_is_reloadable_and_keeps_containers_across_a_restart(make_host, version):
    host = make_host(docker_version=version)
    assert host.run("docker", "run", "-d", "--name", "work", "img").returncode == 0
    host.daemon_json.write_text('{"live-restore": true}')
    assert host.run("systemctl", "reload", "docker").returncode == 0
    assert info(host, "LiveRestoreEnabled") == "true"
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert host.container_state("work") == "running"


def test_without_live_restore_a_restart_stops_containers(host):
    assert host.run("docker", "run", "-d", "--name", "work", "img").returncode == 0
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert host.container_state("work") == "exited"


def test_a_bad_daemon_json_on_reload_is_logged_and_changes_nothing(host):
    host.daemon_json.write_text('{"live-restore": true,')
    assert host.run("systemctl", "reload", "docker").returncode == 0
    assert info(host, "LiveRestoreEnabled") == "false"
    assert host.is_active("docker") == "active"
    assert "Error reloading configuration" in host.events()[-1]["reason"]


def test_reload_needs_an_exec_reload_and_an_active_unit(host):
    dropin = host.root / "etc/systemd/system/docker.service.d"
    dropin.mkdir(parents=True)
    (dropin / "no-reload.conf").write_text("[Service]\nExecReload=\n")
    result = host.run("systemctl", "reload", "docker")
    assert result.returncode == 1 and "reload is not applicable" in result.stderr
    (dropin / "no-reload.conf").unlink()
    assert host.run("systemctl", "stop", "docker").returncode == 0
    result = host.run("systemctl", "reload", "docker")
    assert result.returncode == 1 and "not active, cannot reload" in result.stderr


def test_network_ls_lists_the_predefined_networks(host):
    assert host.run("docker", "network", "ls", "--format", "{{.Name}}").stdout.split() == \
        ["bridge", "host", "none"]


def test_reload_order_per_version_and_advertise_without_store_is_an_error():
    assert reload_order("1.13.1")[0] == "discovery"
    assert "registry-mirrors" not in reload_order("1.13.1")
    assert "features" in reload_order("18.09.9") and "features" not in reload_order("17.12.1-ce")
    done = reload("18.09.9", {}, None, b'{"cluster-advertise": "eth0:2376", "debug": true,'
                  b' "live-restore": true}', DOCKERD)
    assert done.config == {"debug": True}  # debug comes before discovery; the rest not
    assert "must be accompanied by --cluster-store" in done.logs[-1]
