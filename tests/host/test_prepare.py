import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster.host.errors import HostSpecError
from devcluster.host.prepare import HostSpec, host_environment, prepare_host


def spec(**overrides):
    return HostSpec(**{"agent_id": "a-S1", "hostname": "agent1", "ip": "127.0.1.3", **overrides})


@pytest.mark.parametrize("field, value, message", [
    ("ip", "127.0.1", "ip"),
    ("hostname", "bad host", "hostname"),
    ("agent_id", "", "agent_id"),
    ("docker_version", "latest", "docker_version"),
    ("docker_restart_s", -1, "docker_restart_s"),
    ("agent_restart_s", "1", "agent_restart_s"),
    ("control_url", "ftp://x", "control_url"),
    ("docker_flags", ("--a\n--b",), "docker_flags"),
])
def test_invalid_specs_name_the_bad_field(field, value, message):
    with pytest.raises(HostSpecError, match=message):
        spec(**{field: value})


def test_spec_survives_its_json_form(tmp_path):
    original = spec(public=True, events_file=tmp_path / "e.jsonl", docker_flags=("--debug",),
                    control_url="http://127.0.0.1:5050/agent/a-S1/unit", daemon_json="{}")
    assert HostSpec.from_json(json.loads(json.dumps(original.to_json()))) == original
    with pytest.raises(HostSpecError, match="unknown host spec keys"):
        HostSpec.from_json({**original.to_json(), "colour": "red"})


def test_prepared_host_has_the_dcos_layout_and_stand_ins(tmp_path):
    root = tmp_path / "host"
    env = prepare_host(root, spec())
    for directory in ("opt/mesosphere/etc/dcos/network/cni", "opt/mesosphere/active/cni",
                      "etc/docker"):
        assert (root / directory).is_dir()
    assert not (root / "etc/docker/daemon.json").exists()
    assert "ExecStart=/usr/bin/dockerd -H fd://" in \
        (root / "usr/lib/systemd/system/docker.service").read_text()
    assert "ExecStart=" in (root / "etc/systemd/system/dcos-mesos-slave.service").read_text()
    assert not (root / "etc/systemd/system/dcos-mesos-slave-public.service").exists()
    stored = json.loads((root / "var/lib/devcluster/host.json").read_text())
    assert stored["hostname"] == "agent1" and stored["docker_version"] == "20.10.24"
    for name in ("bin/systemctl", "bin/docker", "opt/mesosphere/bin/detect_ip"):
        assert os.access(root / name, os.X_OK), name
    assert (root / "bin/docker").read_text().startswith(f"#!{sys.executable}")
    assert env["CALICO_HOST_ROOT"] == str(root)
    assert env["PATH"].split(os.pathsep)[:2] == [str(root / "bin"),
                                                 str(root / "opt/mesosphere/bin")]
    assert env == host_environment(root)


def test_detect_ip_on_path_prints_the_host_ip(tmp_path):
    env = {**os.environ, **prepare_host(tmp_path / "h", spec(ip="127.0.1.42"))}
    result = subprocess.run(["detect_ip"], env=env, capture_output=True, text=True, check=True)
    assert result.stdout == "127.0.1.42\n"


def test_public_host_has_the_public_agent_unit_and_docker_flags(tmp_path):
    root = tmp_path / "h"
    prepare_host(root, spec(public=True, docker_flags=("--cluster-store=etcd://x:2379",)))
    assert (root / "etc/systemd/system/dcos-mesos-slave-public.service").exists()
    assert not (root / "etc/systemd/system/dcos-mesos-slave.service").exists()
    assert "--cluster-store=etcd://x:2379" in \
        (root / "usr/lib/systemd/system/docker.service").read_text()


def test_initial_daemon_json_is_written_byte_for_byte(tmp_path):
    root = tmp_path / "h"
    prepare_host(root, spec(daemon_json='{"debug": true}\n'))
    assert (root / "etc/docker/daemon.json").read_bytes() == b'{"debug": true}\n'


def test_preparing_again_keeps_files_unit_and_container_state(make_host):
    host = make_host()
    assert host.run("docker", "run", "-d", "--name", "keep", "img").returncode == 0
    host.daemon_json.write_text('{"cluster-store": "etcd://1.2.3.4:2379"}')
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert host.run("systemctl", "stop", host.agent_unit).returncode == 0
    before = host.events()
    prepare_host(host.root, host.spec)
    assert host.daemon_json.read_text() == '{"cluster-store": "etcd://1.2.3.4:2379"}'
    assert host.is_active("docker") == "active"
    assert host.is_active(host.agent_unit) == "inactive"
    assert host.container_state("keep") == "exited"
    info = host.run("docker", "info", "--format", "{{.ClusterStore}}")
    assert info.stdout.strip() == "etcd://1.2.3.4:2379"
    assert host.events() == before


def test_missing_events_directory_is_a_clear_error(tmp_path):
    with pytest.raises(HostSpecError, match="events file directory"):
        prepare_host(tmp_path / "h", spec(events_file=tmp_path / "no" / "e.jsonl"))


def test_stand_ins_refuse_an_unprepared_root(tmp_path):
    root = Path(tmp_path / "h")
    prepare_host(root, spec())
    (root / "var/lib/devcluster/host.json").unlink()
    result = subprocess.run([root / "bin/systemctl", "is-active", "docker"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "not a prepared host" in result.stderr
