"""A read-only host root: every changing step fails with one line and changes nothing."""

import pytest

from tests.installer.conftest import (
    FAST_TIMING,
    RESTART_OK,
    last_line,
    read_only_supported,
    run_read_only,
)
from tests.installer.test_cni_step import inputs

pytestmark = pytest.mark.skipif(not read_only_supported(), reason="needs mount namespaces")


def test_docker_step_on_read_only_root(make_host, tmp_path):
    host = make_host(daemon_json='{"debug": true}\n')
    before = host.snapshot()
    done = run_read_only(host, tmp_path, "docker", "--cluster-store", "etcd://e:2379",
                         *FAST_TIMING)
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        f"cannot write to {host.root}/etc/docker: permission denied or read-only")
    assert host.snapshot() == before and host.restarts("docker") == 0


def test_cni_step_on_read_only_root(make_host, tmp_path):
    host = make_host()
    args = inputs(host)
    before = host.snapshot()
    done = run_read_only(host, tmp_path, "cni", *args, *RESTART_OK)
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        f"cannot write to {host.root}/opt/mesosphere/active/cni: permission denied or read-only")
    assert host.snapshot() == before and host.restarts("dcos-mesos-slave") == 0


def test_uninstall_on_read_only_root_changes_nothing(make_host, tmp_path):
    host = make_host()
    args = inputs(host)
    assert host.run("docker", "--cluster-store", "etcd://e:2379", *RESTART_OK).returncode == 0
    for _ in range(2):
        host.run("cni", *args, *RESTART_OK)
    before = host.snapshot()
    done = run_read_only(host, tmp_path, "uninstall", *FAST_TIMING)
    assert done.returncode == 1
    assert "read-only" in last_line(done.stderr)
    assert host.snapshot() == before
    assert host.restarts("dcos-mesos-slave") == 1 and host.restarts("docker") == 0
