"""The status document of docs/status-api.md, derived from records."""

from __future__ import annotations

import json

from framework.engine import (
    AgentInfo,
    AgentRecord,
    AgentRemoved,
    AgentSeen,
    Engine,
    Policy,
    RetryPolicy,
    RolloutControl,
    StepRecord,
    status_document,
)
from framework.engine.records import PastTask
from framework.engine.reports import HostChange, TaskReport
from framework.engine.status import unit_restarts
from tests.engine.kit import Driver, launch_step, make_plan

DOC_KEYS = {"framework", "rollout", "agents", "generated_at"}
ROLLOUT_KEYS = {
    "state", "reason", "control", "counts", "gone", "gone_retention_s", "budget",
    "failure_budget", "started_at", "completed_at", "eta_s", "config_hash", "mode", "uninstall",
    "unit_restarts",
}
COUNT_KEYS = {"total", "complete", "in_progress", "pending", "failed"}
AGENT_KEYS = {"id", "hostname", "role", "state", "waiting_reason", "holds_restart_slot",
              "unit_restarts", "network", "steps"}
STEP_KEYS = {
    "name", "state", "task_id", "attempts", "message", "updated_at", "disruptive", "target_hash",
    "needs_restart", "restart_reason",
}


def test_the_document_has_exactly_the_documented_shape_and_is_json():
    driver = Driver(agents=("a1", "a2"))
    launch_step(driver, "a1", "docker")
    doc = driver.engine.status_document(driver.now, framework={"name": "calico", "id": "f-1"})
    assert json.loads(json.dumps(doc)) == doc
    assert set(doc) == DOC_KEYS
    assert set(doc["rollout"]) == ROLLOUT_KEYS
    assert set(doc["rollout"]["counts"]) == COUNT_KEYS
    assert doc["framework"] == {"name": "calico", "id": "f-1", "subscribed": False,
                                "leader": False, "torn_down": False}
    assert (doc["rollout"]["mode"], doc["rollout"]["uninstall"]) == ("install", None)
    for agent in doc["agents"]:
        assert set(agent) == AGENT_KEYS
        for step in agent["steps"]:
            assert set(step) == STEP_KEYS
    a1 = doc["agents"][0]
    assert (a1["state"], a1["holds_restart_slot"], a1["waiting_reason"]) == (
        "in_progress", True, None,
    )
    assert [s["state"] for s in a1["steps"]] == [
        "complete", "staging", "pending", "pending", "pending"]
    assert [s["disruptive"] for s in a1["steps"]] == [False, True, True, False, False]
    assert a1["network"] == {"state": "unverified", "ip": None, "at": None, "error": None}
    assert doc["rollout"]["budget"] == {
        "max_concurrent_restarts": 1, "in_use": 1, "holders": ["a1"],
    }
    assert doc["rollout"]["counts"] == {
        "total": 2, "complete": 0, "in_progress": 1, "pending": 1, "failed": 0,
    }
    assert doc["generated_at"] == driver.now


def test_agents_are_sorted_by_hostname_then_id():
    driver = Driver()
    for agent_id, host in (("z", "b.example"), ("y", "a.example"), ("x", "b.example")):
        driver.send(AgentSeen(AgentInfo(agent_id, host)))
    doc = driver.engine.status_document(driver.now)
    assert [a["id"] for a in doc["agents"]] == ["y", "x", "z"]


def test_counts_cover_every_state_and_gone_agents_separately():
    policy = Policy(retry=RetryPolicy(max_attempts=1), max_failed=1, max_concurrent_restarts=2)
    driver = Driver(agents=("done", "fail", "busy", "idle", "left"), policy=policy)
    driver.complete_agent("done")
    driver.status(launch_step(driver, "fail", "docker").task_id, "TASK_FAILED", message="x")
    driver.launch("busy")
    driver.send(AgentRemoved("left"))
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert rollout["counts"] == {
        "total": 4, "complete": 1, "in_progress": 1, "pending": 1, "failed": 1,
    }
    assert rollout["gone"] == 1
    assert rollout["failure_budget"] == {"max_failed": 1, "failed": 1}
    assert rollout["state"] == "in_progress"


def test_timing_fields_follow_the_rollout():
    driver = Driver(agents=("a1", "a2"), now=100.0)
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert (rollout["started_at"], rollout["completed_at"], rollout["eta_s"]) == (None, None, None)
    for agent_id in ("a1",):
        for _ in range(5):
            driver.now += 10
            driver.succeed(driver.launch(agent_id))
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert (rollout["started_at"], rollout["completed_at"], rollout["eta_s"]) == (110.0, None, 40.0)
    driver.complete_agent("a2")
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert (rollout["state"], rollout["completed_at"], rollout["eta_s"]) == (
        "complete", driver.now, None,
    )


def test_hostile_strings_are_carried_as_data():
    hostile = "<script>alert('x')</script>"
    driver = Driver()
    driver.send(AgentSeen(AgentInfo("a1", hostile)))
    docker = launch_step(driver, "a1", "docker")
    driver.status(docker.task_id, "TASK_FAILED", message=hostile)
    doc = driver.engine.status_document(driver.now)
    assert doc["agents"][0]["hostname"] == hostile
    assert doc["agents"][0]["steps"][1]["message"] == hostile


def test_the_pure_function_needs_only_stored_records():
    plan = make_plan()
    records = [
        AgentRecord("a1", "a1.example", steps={"etcd-proxy": StepRecord(
            task_id="calico-etcd-proxy.a1.1-0", task_hash="etcd-proxy-v1",
            task_state="TASK_RUNNING", done_hash="etcd-proxy-v1", updated_at=5.0,
            launched_at=4.0,
        )}),
        AgentRecord("a2", "a2.example", presence="unreachable", presence_since=0.0),
    ]
    doc = status_document(plan, Policy(), records, RolloutControl(), now=10.0)
    assert doc["agents"][0]["waiting_reason"] == (
        "no offer from this agent yet (needed to start docker)"
    )
    assert doc["agents"][1]["waiting_reason"] == (
        "agent unreachable since 1970-01-01 00:00:00 UTC; waiting for it to return before "
        "etcd-proxy"
    )
    assert doc == Engine(plan, Policy(), records).status_document(10.0)


def test_a_waiting_agent_after_its_first_offer_waits_for_the_next():
    driver = Driver(agents=("a1",))
    driver.succeed(driver.launch("a1"))
    assert driver.reason("a1") == "waiting for the next offer to start docker"


def test_an_unreachable_task_explains_the_wait():
    driver = Driver(agents=("a1",))
    docker = launch_step(driver, "a1", "docker")
    driver.status(docker.task_id, "TASK_RUNNING")
    assert driver.reason("a1") is None
    driver.status(docker.task_id, "TASK_UNREACHABLE")
    assert driver.reason("a1") == (
        "agent unreachable since 1970-01-01 00:16:40 UTC; waiting for it to return before docker"
    )
    assert driver.agent_doc("a1")["holds_restart_slot"]


def _restarted(*units: str) -> TaskReport:
    return TaskReport("ok", "done", tuple(
        HostChange("restarted", unit, 1.0) for unit in units) + (
        HostChange("wrote", "/etc/docker/daemon.json"), HostChange("reloaded", "docker", 0.1)))


def test_unit_restarts_are_counted_from_the_installers_reports_per_agent_and_in_total():
    earlier = PastTask("calico-docker.a1.1", "TASK_FINISHED", 1, None, 1.0, 2.0,
                       _restarted("docker"))
    a1 = AgentRecord("a1", "h1", steps={
        "docker": StepRecord(task_id="calico-docker.a1.2", report=_restarted("docker"),
                             history=(earlier,)),
        "cni": StepRecord(task_id="calico-cni.a1.3", report=_restarted("dcos-mesos-slave")),
    })
    a2 = AgentRecord("a2", "h2", steps={
        "docker": StepRecord(task_id="calico-docker.a2.1", report=_restarted()),
        "cni": StepRecord(task_id="calico-cni.a2.2"),
    })
    a3 = AgentRecord("a3", "h3")
    assert [unit_restarts(a) for a in (a1, a2, a3)] == [3, 0, 0]
    doc = status_document(make_plan(), Policy(), [a3, a2, a1], RolloutControl(), 10.0)
    assert [a["unit_restarts"] for a in doc["agents"]] == [3, 0, 0]
    assert doc["rollout"]["unit_restarts"] == 3
