
import time

import pytest

from devcluster.host.faults import clear_fault, set_fault
from tests.wait import wait_until


def test_is_active_prints_state_and_exits_like_systemd(host):
    active = host.run("systemctl", "is-active", "docker")
    assert (active.stdout, active.returncode) == ("active\n", 0)
    assert host.run("systemctl", "stop", "docker.service").returncode == 0
    stopped = host.run("systemctl", "is-active", "docker")
    assert (stopped.stdout, stopped.returncode) == ("inactive\n", 3)
    quiet = host.run("systemctl", "is-active", "--quiet", "docker")
    assert (quiet.stdout, quiet.returncode) == ("", 3)


def test_blocking_restart_lasts_the_restart_time_and_logs_begin_and_end(make_host):
    host = make_host(docker_restart_s=0.8)
    started = time.monotonic()
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert time.monotonic() - started >= 0.8
    assert host.is_active("docker") == "active"
    begin, end = host.events()
    assert (begin["unit"], begin["action"], begin["phase"]) == ("docker", "restart", "begin")
    assert (end["phase"], end["ok"]) == ("end", True)
    assert end["time"] - begin["time"] == pytest.approx(0.8)
    assert begin["agent_id"] == host.spec.agent_id and begin["hostname"] == host.spec.hostname


def test_no_block_returns_at_once_and_the_unit_is_seen_activating(make_host):
    host = make_host(docker_restart_s=30)
    started = time.monotonic()
    assert host.run("systemctl", "--no-block", "restart", "docker").returncode == 0
    assert time.monotonic() - started < 15
    assert host.is_active("docker") in ("deactivating", "activating")
    assert host.run("docker", "ps").returncode == 1


def test_show_reports_state_exec_start_and_a_monotonic_activation_time(host):
    before_us = time.monotonic() * 1e6
    assert host.run("systemctl", "restart", "docker").returncode == 0
    after_us = time.monotonic() * 1e6
    shown = host.run("systemctl", "show", "-p", "ActiveState", "--property=ExecStart",
                     "-p", "ActiveEnterTimestampMonotonic,NRestarts", "docker")
    props = dict(line.split("=", 1) for line in shown.stdout.splitlines())
    assert props["ActiveState"] == "active"
    assert "argv[]=/usr/bin/dockerd -H fd://" in props["ExecStart"]
    assert before_us < int(props["ActiveEnterTimestampMonotonic"]) <= after_us + 1000
    assert props["NRestarts"] == "1"
    value = host.run("systemctl", "show", "--value", "-p", "ActiveState", "docker")
    assert value.stdout == "active\n"


def test_show_of_an_inactive_unit_has_no_activation_time(host):
    host.run("systemctl", "stop", "docker")
    shown = host.run("systemctl", "show", "-p", "ActiveState,ActiveEnterTimestampMonotonic",
                     "docker")
    assert shown.stdout == "ActiveState=inactive\nActiveEnterTimestampMonotonic=0\n"


def test_cat_and_status(host):
    cat = host.run("systemctl", "cat", "docker")
    assert cat.returncode == 0
    assert cat.stdout.startswith("# /usr/lib/systemd/system/docker.service\n")
    assert "ExecStart=/usr/bin/dockerd" in cat.stdout
    status = host.run("systemctl", "status", "docker")
    assert status.returncode == 0 and "Active: active (running)" in status.stdout
    host.run("systemctl", "stop", "docker")
    assert host.run("systemctl", "status", "docker").returncode == 3


def test_unknown_units_fail_like_systemd(host):
    start = host.run("systemctl", "start", "nginx")
    assert start.returncode == 5 and "Unit nginx.service not found" in start.stderr
    assert host.run("systemctl", "is-active", "nginx").returncode == 3
    assert host.run("systemctl", "status", "nginx").returncode == 4
    shown = host.run("systemctl", "show", "-p", "LoadState", "nginx")
    assert shown.stdout == "LoadState=not-found\n"
    public_unit = host.run("systemctl", "restart", "dcos-mesos-slave-public")
    assert public_unit.returncode == 5


@pytest.mark.parametrize("argv, message", [
    (["--frobnicate", "status"], "unrecognized option"),
    ([], "too few arguments"),
    (["explode", "docker"], "unknown command verb"),
    (["restart"], "needs at least one unit"),
    (["show", "-p"], "requires an argument"),
])
def test_bad_command_lines_get_a_clear_error(host, argv, message):
    result = host.run("systemctl", *argv)
    assert result.returncode != 0 and message in result.stderr


def test_standalone_agent_unit_restarts_locally_and_is_logged(make_host):
    host = make_host(public=True)
    assert host.run("systemctl", "restart", "dcos-mesos-slave-public").returncode == 0
    assert host.is_active("dcos-mesos-slave-public") == "active"
    assert [(e["unit"], e["phase"]) for e in host.events()] == [
        ("dcos-mesos-slave-public", "begin"), ("dcos-mesos-slave-public", "end")]


def test_agent_that_never_starts_fails_its_restart(host):
    set_fault(host.root, "agent_never_starts", True)
    result = host.run("systemctl", "restart", host.agent_unit)
    assert result.returncode == 1 and "failed" in result.stderr
    assert host.is_active(host.agent_unit) == "failed"
    assert "agent_never_starts" in host.run("systemctl", "status", host.agent_unit).stdout
    clear_fault(host.root, "agent_never_starts")
    assert host.run("systemctl", "restart", host.agent_unit).returncode == 0


def test_a_hung_unit_command_waits_until_the_fault_is_cleared(make_host):
    host = make_host(docker_restart_s=0)
    set_fault(host.root, "hang_units", ["docker"])
    proc = host.popen("systemctl", "restart", "docker")
    try:
        for _ in range(3):
            assert host.run("systemctl", "is-active", host.agent_unit).returncode == 0
        assert proc.poll() is None
        assert host.events() == []
        clear_fault(host.root, "hang_units")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()
    assert [e["phase"] for e in host.events()] == ["begin", "end"]


def test_reset_failed_clears_a_failed_unit(host):
    host.daemon_json.write_text("nope")
    assert host.run("systemctl", "restart", "docker").returncode == 1
    assert host.is_active("docker") == "failed"
    assert host.run("systemctl", "reset-failed", "docker").returncode == 0
    assert host.is_active("docker") == "inactive"


def test_after_no_block_the_next_observer_logs_the_end_with_its_real_time(host):
    assert host.run("systemctl", "--no-block", "restart", "docker").returncode == 0
    [begin] = host.events()
    wait_until(lambda: host.is_active("docker") == "active", what="docker to come back")
    begin_again, end = host.events()
    assert begin_again == begin
    assert end["time"] == pytest.approx(begin["time"] + host.spec.docker_restart_s)
