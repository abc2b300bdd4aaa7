"""The unit state machine driven in-process with an injected clock: deterministic timing."""

import pytest

from devcluster.host import containers, units
from devcluster.host.faults import set_fault
from devcluster.host.hostdir import HostDir

RESTART_S = 10.0


@pytest.fixture
def sim(make_host):
    host = make_host(docker_restart_s=RESTART_S, agent_restart_s=RESTART_S)
    return host, HostDir(host.root)


def state_at(hostdir, unit, now):
    with hostdir.locked():
        return units.active_state(units.settle(hostdir, unit, now), now)


def request(hostdir, unit, action, now):
    with hostdir.locked():
        return units.request(hostdir, unit, action, now)


def test_restart_deactivates_then_activates_for_the_configured_time(sim):
    host, hostdir = sim
    t0 = 1_000_000.0
    job = request(hostdir, "docker", "restart", t0)
    assert units.job_end(job) == t0 + RESTART_S
    assert state_at(hostdir, "docker", t0) == "deactivating"
    assert state_at(hostdir, "docker", t0 + RESTART_S / 2 - 0.01) == "deactivating"
    assert state_at(hostdir, "docker", t0 + RESTART_S / 2) == "activating"
    assert state_at(hostdir, "docker", t0 + RESTART_S - 0.01) == "activating"
    assert state_at(hostdir, "docker", t0 + RESTART_S) == "active"
    record = units.load(hostdir, "docker")
    assert record["since"] == t0 + RESTART_S and record["restarts"] == 1
    begin, end = host.events()
    assert (begin["phase"], begin["time"], end["phase"], end["time"], end["ok"]) == \
        ("begin", t0, "end", t0 + RESTART_S, True)


def test_end_event_is_logged_once_however_often_the_unit_is_observed(sim):
    host, hostdir = sim
    request(hostdir, "docker", "stop", 100.0)
    for now in (100.0, 104.0, 106.0, 200.0, 300.0):
        state_at(hostdir, "docker", now)
    assert [(e["action"], e["phase"]) for e in host.events()] == [("stop", "begin"),
                                                                  ("stop", "end")]
    assert state_at(hostdir, "docker", 400.0) == "inactive"


def test_start_from_inactive_takes_half_and_start_when_active_does_nothing(sim):
    host, hostdir = sim
    assert request(hostdir, "docker", "start", 50.0) is None
    request(hostdir, "docker", "stop", 100.0)
    job = request(hostdir, "docker", "start", 200.0)
    assert units.job_end(job) == 200.0 + RESTART_S / 2
    assert state_at(hostdir, "docker", 201.0) == "activating"
    assert request(hostdir, "docker", "stop", 300.0) is not None
    assert request(hostdir, "docker", "stop", 400.0) is None


def test_a_job_replaced_mid_way_ends_as_canceled(sim):
    host, hostdir = sim
    first = request(hostdir, "docker", "restart", 100.0)
    request(hostdir, "docker", "stop", 101.0)
    with hostdir.locked():
        record = units.settle(hostdir, "docker", 102.0)
    assert units.job_result(record, first["id"])["outcome"] == "canceled"
    cancelled = [e for e in host.events() if e["phase"] == "end"][0]
    assert cancelled["ok"] is False and "canceled" in cancelled["reason"]


def test_docker_start_outcome_is_judged_from_daemon_json_when_requested(sim):
    host, hostdir = sim
    host.daemon_json.write_text("{not json")
    job = request(hostdir, "docker", "restart", 100.0)
    host.daemon_json.write_text("{}")
    assert state_at(hostdir, "docker", 100.0 + RESTART_S) == "failed"
    with hostdir.locked():
        result = units.job_result(units.settle(hostdir, "docker", 111.0), job["id"])
    assert result["outcome"] == "failed" and "invalid character" in result["reason"]
    assert host.events()[-1]["ok"] is False


def test_injected_crash_fails_docker_and_stops_its_containers(sim):
    host, hostdir = sim
    set_fault(host.root, "docker_crashes_after_s", 3)
    assert host.run("docker", "run", "-d", "--name", "c1", "img").returncode == 0
    request(hostdir, "docker", "restart", 100.0)
    assert state_at(hostdir, "docker", 100.0 + RESTART_S) == "active"
    assert state_at(hostdir, "docker", 100.0 + RESTART_S + 2.9) == "active"
    assert state_at(hostdir, "docker", 100.0 + RESTART_S + 3) == "failed"
    with hostdir.locked():
        record = containers.load(hostdir)["containers"]
    assert [c["State"]["Running"] for c in record.values()] == [False]


def test_reset_failed_makes_a_failed_unit_inactive(sim):
    host, hostdir = sim
    set_fault(host.root, "agent_never_starts", True)
    request(hostdir, host.agent_unit, "restart", 100.0)
    assert state_at(hostdir, host.agent_unit, 100.0 + RESTART_S) == "failed"
    with hostdir.locked():
        units.reset_failed(hostdir, host.agent_unit, 120.0)
    assert state_at(hostdir, host.agent_unit, 121.0) == "inactive"
