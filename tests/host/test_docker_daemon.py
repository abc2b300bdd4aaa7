"""The daemon behind the stand-ins: refusing bad configs, and what restarts do to containers."""

import signal

import pytest

from devcluster.host.faults import clear_fault, set_fault
from tests.wait import wait_until


@pytest.mark.parametrize("version, daemon_json, reason", [
    ("20.10.24", "{broken", "invalid character"),
    ("20.10.24", '{"colour": "red"}', "don't match any configuration option: colour"),
    ("23.0.6", '{"cluster-store": "etcd://127.0.0.1:2379"}',
     "don't match any configuration option: cluster-store"),
])
def test_restart_with_a_config_dockerd_refuses_leaves_docker_failed(make_host, version,
                                                                    daemon_json, reason):
    host = make_host(docker_version=version)
    host.daemon_json.write_text(daemon_json)
    restart = host.run("systemctl", "restart", "docker")
    assert restart.returncode == 1 and "Job for docker.service failed" in restart.stderr
    assert host.is_active("docker") == "failed"
    assert reason in host.run("systemctl", "status", "docker").stdout
    assert host.run("docker", "ps").returncode == 1
    end = host.events()[-1]
    assert (end["phase"], end["ok"]) == ("end", False) and reason in end["reason"]
    host.daemon_json.write_text("{}")
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert host.is_active("docker") == "active"


def test_cluster_store_is_accepted_before_23(make_host):
    host = make_host(docker_version="17.03.2-ce")
    host.daemon_json.write_text('{"cluster-store": "etcd://127.0.0.1:2379"}')
    assert host.run("systemctl", "restart", "docker").returncode == 0


def test_cluster_store_as_flag_and_in_daemon_json_conflicts(make_host):
    host = make_host(docker_flags=("--cluster-store=etcd://10.0.0.1:2379",))
    assert host.run("docker", "info", "-f", "{{.ClusterStore}}").stdout == \
        "etcd://10.0.0.1:2379\n"
    host.daemon_json.write_text('{"cluster-store": "etcd://127.0.0.1:2379"}')
    assert host.run("systemctl", "restart", "docker").returncode == 1
    assert "specified both as a flag and in the configuration file" in \
        host.run("systemctl", "status", "docker").stdout


def test_host_prepared_with_a_bad_daemon_json_starts_with_docker_failed(make_host):
    host = make_host(daemon_json="{")
    assert host.is_active("docker") == "failed"


def test_docker_that_never_comes_back(host):
    set_fault(host.root, "docker_never_starts", True)
    assert host.run("systemctl", "restart", "docker").returncode == 1
    assert host.is_active("docker") == "failed"
    clear_fault(host.root, "docker_never_starts")
    assert host.run("systemctl", "start", "docker").returncode == 0


def test_daemon_restart_stops_containers_unless_their_policy_restarts_them(host):
    for name, policy in (("plain", "no"), ("failing", "on-failure:3"), ("always", "always"),
                         ("unless", "unless-stopped"), ("stopped-always", "always"),
                         ("stopped-unless", "unless-stopped")):
        assert host.run("docker", "run", "-d", "--name", name, "--restart", policy,
                        "img").returncode == 0
    host.run("docker", "stop", "stopped-always", "stopped-unless")
    assert host.run("systemctl", "restart", "docker").returncode == 0
    states = {name: host.container_state(name) for name in
              ("plain", "failing", "always", "unless", "stopped-always", "stopped-unless")}
    assert states == {"plain": "exited", "failing": "exited", "always": "running",
                      "unless": "running", "stopped-always": "running",
                      "stopped-unless": "exited"}


def test_detached_auto_remove_container_disappears_when_the_daemon_stops(host):
    host.run("docker", "run", "-d", "--rm", "--name", "gone", "img")
    host.run("systemctl", "restart", "docker")
    assert host.container_state("gone") == "missing"


def test_crashing_docker_fails_after_the_configured_time(host):
    set_fault(host.root, "docker_crashes_after_s", 0.3)
    assert host.run("systemctl", "restart", "docker").returncode == 0
    wait_until(lambda: host.is_active("docker") == "failed", what="docker to crash")


def start_foreground(host, *args):
    proc = host.popen("docker", "run", "--name", "fg", *args, "example/app:v3")
    wait_until(lambda: host.container_state("fg") == "running" or proc.poll() is not None,
             what="the foreground container to run")
    assert proc.poll() is None, proc.stderr.read()
    return proc


def test_foreground_run_blocks_until_sigterm_then_exits_with_the_container(host):
    proc = start_foreground(host)
    assert host.run("docker", "inspect", "-f", "{{.State.Pid}}", "fg").stdout == f"{proc.pid}\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert host.container_state("fg") == "exited"


@pytest.mark.parametrize("stop_argv, code, state_after", [
    (["docker", "stop", "fg"], 0, "exited"),
    (["docker", "kill", "fg"], 137, "exited"),
    (["docker", "rm", "-f", "fg"], 137, "missing"),
    (["systemctl", "stop", "docker"], 0, None),
])
def test_foreground_run_ends_when_its_container_ends(host, stop_argv, code, state_after):
    proc = start_foreground(host)
    assert host.run(*stop_argv).returncode == 0
    assert proc.wait(timeout=10) == code
    if state_after is not None:
        assert host.container_state("fg") == state_after


def test_foreground_run_exits_with_an_injected_container_status(host):
    proc = start_foreground(host, "--rm")
    set_fault(host.root, "container_exit", {"fg": 42})
    assert proc.wait(timeout=10) == 42
    assert host.container_state("fg") == "missing"


def test_foreground_run_ends_on_a_daemon_restart(host):
    proc = start_foreground(host, "--restart=always")
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert proc.wait(timeout=10) == 0
    assert host.container_state("fg") == "running"

