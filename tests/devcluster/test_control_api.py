"""The /devcluster/ fault-injection routes over HTTP, on a LocalCluster with real hosts."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from devcluster.cluster import ClusterOptions, LocalCluster
from tests.devcluster.harness import FAST, RecordingScheduler
from tests.devcluster.rawhttp import post
from tests.wait import wait_until

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def cluster(tmp_path):
    c = LocalCluster(tmp_path, ClusterOptions(agents=2, public_agents=1, agent_restart_s=0.2,
                                              master=FAST)).start()
    yield c
    c.stop()


def _req(cluster, method: str, path: str, body: object = None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                        else b"")
    answer = post(cluster.master.address, data, JSON if method == "POST" else {},
                  path=f"/devcluster/{path}", method=method)
    return answer.status, (json.loads(answer.body) if answer.body and answer.status < 300
                           else answer.body)


def _agent_ids(cluster) -> list[str]:
    return [a["id"] for a in _req(cluster, "GET", "agents")[1]["agents"]]


def test_agents_list_and_add(cluster):
    status, doc = _req(cluster, "GET", "agents")
    assert status == 200
    agents = doc["agents"]
    assert [a["public"] for a in agents] == [False, False, True]
    assert len({a["ip"] for a in agents}) == 3
    assert all(a["state"] == "active" for a in agents)
    status, added = _req(cluster, "POST", "agents", {"public": True, "hostname": "edge-1"})
    assert status == 201 and added["hostname"] == "edge-1"
    assert added["id"] in cluster.master.agents
    assert _req(cluster, "POST", "agents", {"public": "yes"})[0] == 400
    assert _req(cluster, "POST", "agents", {"hostname": 7})[0] == 400


def test_unit_get_and_restart(cluster):
    agent_id = _agent_ids(cluster)[0]
    status, unit = _req(cluster, "GET", f"agents/{agent_id}/unit")
    assert status == 200
    assert unit["unit"] == "dcos-mesos-slave" and unit["active_state"] == "active"
    assert _req(cluster, "POST", f"agents/{agent_id}/unit",
                {"action": "restart", "duration_s": 1.0})[0] == 202
    assert _req(cluster, "GET", f"agents/{agent_id}/unit")[1]["active_state"] == "activating"
    wait_until(lambda: _req(cluster, "GET", f"agents/{agent_id}/unit")[1]["restarts"] == 1
             and cluster.master.agents[agent_id].connected, what="agent back")
    public_id = _agent_ids(cluster)[2]
    assert _req(cluster, "GET", f"agents/{public_id}/unit")[1]["unit"] == \
        "dcos-mesos-slave-public"


def test_systemctl_stand_in_restarts_the_simulated_agent(cluster):
    agent = next(iter(cluster.master.agents.values()))
    env = {**os.environ, **agent.host_env}
    result = subprocess.run(["systemctl", "restart", "dcos-mesos-slave"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    wait_until(lambda: cluster.master.agent_unit_state(agent.id)["restarts"] == 1
             and agent.connected, what="agent restarted through systemctl")
    shown = subprocess.run(["systemctl", "is-active", "dcos-mesos-slave"], env=env,
                           capture_output=True, text=True, timeout=30)
    assert shown.stdout.strip() == "active"


@pytest.mark.parametrize(("path", "body", "status"), [
    ("agents/nope/unit", {"action": "restart"}, 404),
    ("agents/{agent}/unit", {"action": "reboot"}, 400),
    ("agents/{agent}/unit", {"action": "restart", "duration_s": -1}, 400),
    ("agents/{agent}/unit", [1, 2], 400),
    ("agents/nope/lose", {}, 404),
    ("agents/nope/restore", {}, 404),
    ("agents/nope/remove", {}, 404),
    ("frameworks/nope/drop-stream", {}, 404),
    ("frameworks/nope/teardown", {}, 404),
    ("faults", {"update_delay_s": -1}, 400),
    ("faults", {"update_delay_s": True}, 400),
    ("faults", {"duplicate_updates": "yes"}, 400),
    ("faults", {"fail_next_fetch": "no-such-agent"}, 404),
    ("faults", {"unknown_fault": 1}, 400),
    ("no/such/route", {}, 404),
])
def test_bad_control_requests(cluster, path, body, status):
    path = path.format(agent=_agent_ids(cluster)[0])
    assert _req(cluster, "POST", path, body)[0] == status
    assert _req(cluster, "GET", "faults")[1] == {
        "update_delay_s": 0.0, "duplicate_updates": False, "fail_next_fetch": {}}


def test_body_that_is_not_json(cluster):
    assert _req(cluster, "POST", "faults", raw=b"{oops")[0] == 400
    assert _req(cluster, "GET", "no-such-thing")[0] == 404


def test_faults_set_and_read_back(cluster):
    agent_id = _agent_ids(cluster)[0]
    status, faults = _req(cluster, "POST", "faults", {
        "update_delay_s": 0.25, "duplicate_updates": True, "fail_next_fetch": agent_id})
    assert status == 200
    assert faults == {"update_delay_s": 0.25, "duplicate_updates": True,
                      "fail_next_fetch": {agent_id: 1}}
    assert cluster.master.faults.take_fetch_failure(agent_id)
    assert not cluster.master.faults.take_fetch_failure(agent_id)


def test_lose_restore_remove_drop_stream_and_failover(cluster):
    from pymesos import MesosSchedulerDriver

    sched = RecordingScheduler()
    host, port = cluster.master.address
    driver = MesosSchedulerDriver(sched, {"user": "root", "name": "control-test",
                                          "failover_timeout": 60.0}, f"{host}:{port}")
    driver.start()
    try:
        framework_id = sched.registered_id()
        first, second, _ = _agent_ids(cluster)
        assert _req(cluster, "POST", f"agents/{first}/lose", {})[0] == 200
        assert wait_until(lambda: sched.kinds("agent_lost"), what="slaveLost") == [first]
        assert cluster.master.agents[first].state == "unreachable"
        assert _req(cluster, "POST", f"agents/{first}/restore", {})[0] == 200
        assert cluster.master.agents[first].state == "active"
        assert _req(cluster, "POST", f"agents/{second}/remove", {})[0] == 200
        assert second not in _agent_ids(cluster)
        assert _req(cluster, "POST", f"frameworks/{framework_id}/drop-stream", {})[0] == 200
        wait_until(lambda: sched.kinds("reregistered"), what="re-subscribed after drop")
        old_master = cluster.master.master_id
        status, doc = _req(cluster, "POST", "master/failover", {})
        assert status == 200 and doc["master_id"] != old_master
        wait_until(lambda: len(sched.kinds("reregistered")) == 2, what="re-subscribed")
        assert _req(cluster, "POST", f"frameworks/{framework_id}/teardown", {})[0] == 200
        assert wait_until(lambda: sched.kinds("error"), what="error") == [
            "Framework has been removed"]
    finally:
        driver.stop(failover=True)
        driver.join()


def test_unit_actions_are_written_to_the_events_file(tmp_path):
    events = tmp_path / "events.jsonl"
    options = ClusterOptions(agents=1, agent_restart_s=0.1, master=FAST, events_file=events)
    cluster = LocalCluster(tmp_path / "cluster", options).start()
    try:
        agent = next(iter(cluster.master.agents.values()))
        assert _req(cluster, "POST", f"agents/{agent.id}/unit", {"action": "restart"})[0] == 202

        def unit_events() -> list[dict]:
            if not events.exists():
                return []
            lines = [json.loads(line) for line in events.read_text().splitlines()]
            return [e for e in lines if e["unit"] == "dcos-mesos-slave"]
        wait_until(lambda: len(unit_events()) == 2, what="begin and end events")
        begin, end = unit_events()
        assert (begin["phase"], end["phase"]) == ("begin", "end")
        assert begin["action"] == end["action"] == "restart"
        assert begin["agent_id"] == agent.id and begin["hostname"] == agent.spec.hostname
        assert end["ok"] is True and end["time"] >= begin["time"] + 0.1
    finally:
        cluster.stop()
