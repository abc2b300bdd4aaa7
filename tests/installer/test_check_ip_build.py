"""`check` and `ip` on simulated hosts, and the .pyz under the oldest Python here."""

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from installer import build
from tests.installer.conftest import FAST_TIMING, RESTART_OK, last_line, stop_gracefully
from tests.installer.test_cni_step import inputs
from tests.installer.test_node_step import wait_running

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def oldest_python(minimum: int = 6):
    """The oldest python3.x (x >= minimum) that runs here, from PATH or pyenv's versions."""
    for minor in range(minimum, 14):
        name = f"python3.{minor}"
        candidates = [shutil.which(name)] + sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/{name}")))
        for candidate in filter(None, candidates):
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[1])"],
                                   capture_output=True, text=True)
            if probe.returncode == 0 and probe.stdout.strip() == str(minor):
                return candidate
    return None


OLDEST = oldest_python()


def test_check_reports_state_and_changes_nothing(make_host):
    host = make_host()
    assert host.run("docker", "--cluster-store", "etcd://e:2379", *RESTART_OK).returncode == 0
    args = inputs(host)
    for _ in range(2):
        host.run("cni", *args, *RESTART_OK)
    before = host.snapshot()
    done = host.run("check")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["docker"]["cluster_store"] == "etcd://e:2379"
    assert report["docker"]["active"] is True and report["docker"]["version"] == "20.10.24"
    assert report["docker"]["journal"]["phase"] == "done"
    assert report["cni"]["journal"]["phase"] == "done"
    assert all(f["as_installed"] for f in report["cni"]["files"].values())
    assert report["cni"]["agent_unit"] == "dcos-mesos-slave"
    assert report["calico-node"]["exists"] is False
    assert report["etcd-proxy"]["listening"] in (True, False)
    assert host.snapshot() == before
    assert host.restarts("docker") == 0 and host.restarts("dcos-mesos-slave") == 1


def test_check_survives_broken_state(make_host):
    host = make_host()
    host.file("/etc/docker/daemon.json").write_text("{broken")
    done = host.run("check")
    assert done.returncode == 0
    assert "malformed" in json.loads(done.stdout)["docker"]["error"]


def test_ip_uses_detect_ip(make_host):
    host = make_host(ip="10.20.30.40")
    done = host.run("ip")
    assert done.returncode == 0 and done.stdout == "10.20.30.40\n"
    assert done.stderr == ""


@pytest.mark.parametrize("master, expected", [
    ("127.0.0.1:5050", "127.0.0.1"), ("zk://127.0.0.1:2181/mesos", "127.0.0.1"),
    ("127.0.0.1", "127.0.0.1")])
def test_ip_routes_to_master_without_detect_ip(make_host, master, expected):
    host = make_host()
    host.file("/opt/mesosphere/bin/detect_ip").unlink()
    done = host.run("ip", "--master", master)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected + "\n"


def test_ip_without_any_source_fails(make_host):
    host = make_host()
    host.file("/opt/mesosphere/bin/detect_ip").write_text("#!/bin/sh\nexit 1\n")
    done = host.run("ip", "--master", "m1:notaport")
    assert done.returncode == 1
    assert last_line(done.stderr) == "malformed port in 'm1:notaport'"


def test_build_is_reproducible_and_holds_only_the_package(tmp_path):
    first = build.build(str(tmp_path / "a.pyz"))
    second = build.build(str(tmp_path / "b.pyz"))
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()
    names = zipfile.ZipFile(first).namelist()
    assert names[0] == "__main__.py"
    assert all(n == "__main__.py" or n.startswith("installer/") for n in names)
    assert "installer/steps/docker.py" in names
    assert os.stat(first).st_mode & 0o111


def test_build_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "installer.build", "--out", str(tmp_path)],
                          cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "calico-installer.pyz")


@pytest.mark.skipif(OLDEST is None, reason="no python3.x interpreter found")
def test_sources_compile_under_the_oldest_python(tmp_path):
    copy = tmp_path / "installer"
    shutil.copytree(os.path.join(PROJECT, "installer"), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([OLDEST, "-m", "compileall", "-q", str(copy)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(OLDEST is None, reason="no python3.x interpreter found")
def test_pyz_runs_every_step_under_the_oldest_python(make_host, tmp_path):
    host = make_host(daemon_json='{"debug": true}\n')
    before = host.snapshot()
    pyz = build.build(str(tmp_path))  # built from this tree; also importable there
    host.pyz = pyz
    run = lambda step, *args: host.run(step, *args, python=OLDEST)  # noqa: E731
    assert run("ip").stdout == "10.0.0.1\n"
    done = run("docker", "--cluster-store", "etcd://e:2379", *RESTART_OK)
    assert done.returncode == 0, done.stderr
    args = inputs(host)
    assert [run("cni", *args, *RESTART_OK).returncode for _ in range(2)] == [75, 0]
    assert json.loads(run("check").stdout)["docker"]["cluster_store"] == "etcd://e:2379"
    assert [run("uninstall", *FAST_TIMING).returncode for _ in range(2)] == [75, 0]
    assert host.snapshot() == before


@pytest.mark.skipif(OLDEST is None, reason="no python3.x interpreter found")
def test_build_runs_under_the_oldest_python(tmp_path):
    done = subprocess.run([OLDEST, "-m", "installer.build", "--out", str(tmp_path)],
                          cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert zipfile.ZipFile(tmp_path / "calico-installer.pyz").testzip() is None


@pytest.mark.skipif(OLDEST is None, reason="no python3.x interpreter found")
def test_foreground_node_under_the_oldest_python(make_host, etcd_server):
    host = make_host()
    proc = host.popen("node", "--image", "calico/node:v2.6.12", "--etcd-endpoints",
                      etcd_server.endpoint, python=OLDEST)
    wait_running(host, proc)
    code, _, err = stop_gracefully(proc)
    assert code == 0, err
    assert host.docker("inspect", "calico-node").returncode != 0
