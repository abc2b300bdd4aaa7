"""COMMAND health checks, and delayed or duplicated status updates."""

from __future__ import annotations

import json

import pytest

from devcluster.master_records import Subscription
from tests.devcluster.harness import command_task, launch, process_gone
from tests.wait import wait_until

FAST_CHECK = {"type": "COMMAND", "delay_seconds": 0, "interval_seconds": 0.1,
              "timeout_seconds": 5, "grace_period_seconds": 0}


def _health_updates(sched, task_id: str) -> list[dict]:
    with sched.lock:
        return [u for u in sched.updates
                if u["task_id"]["value"] == task_id and "healthy" in u]


def test_passing_check_reports_healthy_once(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    check = {**FAST_CHECK, "command": {"value": "test ! -f sick"}}
    task = launch(driver, sched, agent, "t-ok", "exec sleep 600", health_check=check)
    first = wait_until(lambda: _health_updates(sched, "t-ok"), what="a health update")[0]
    assert first["state"] == "TASK_RUNNING" and first["healthy"] is True
    assert first["reason"] == "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
    runs = task.health_failures, len(_health_updates(sched, "t-ok"))
    wait_until(lambda: task.health_checks_run >= 4, what="more checks")
    assert runs == (0, 1) and not process_gone(task)
    before = len(sched.updates)
    driver.reconcileTasks([{"task_id": {"value": "t-ok"}}])
    wait_until(lambda: len(sched.updates) > before, what="reconciliation")
    assert sched.updates[-1]["healthy"] is True


def test_failing_checks_report_unhealthy_then_kill(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    check = {**FAST_CHECK, "command": {"value": "test ! -f sick"}, "consecutive_failures": 2}
    task = launch(driver, sched, agent, "t-sick", "exec sleep 600", health_check=check)
    wait_until(lambda: _health_updates(sched, "t-sick"), what="healthy")
    (task.sandbox / "sick").touch()
    killed = sched.wait_state("t-sick", "TASK_KILLED")
    assert killed["healthy"] is False
    assert process_gone(task)
    health = [(u["state"], u["healthy"]) for u in _health_updates(sched, "t-sick")]
    assert health == [("TASK_RUNNING", True), ("TASK_RUNNING", False),
                      ("TASK_RUNNING", False), ("TASK_KILLED", False)]
    assert sched.states("t-sick")[-2:] == ["TASK_KILLING", "TASK_KILLED"]


def test_failures_within_the_grace_period_are_ignored(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    check = {**FAST_CHECK, "command": {"value": "test -f ok"}, "consecutive_failures": 1,
             "grace_period_seconds": 600}
    task = launch(driver, sched, agent, "t-slow", "exec sleep 600", health_check=check)
    wait_until(lambda: task.health_checks_run >= 3, what="checks during the grace period")
    assert _health_updates(sched, "t-slow") == [] and not process_gone(task)
    (task.sandbox / "ok").touch()
    wait_until(lambda: _health_updates(sched, "t-slow"), what="healthy after grace")


@pytest.mark.parametrize(("check", "problem"), [
    ({"type": "COMMAND"}, "Expecting 'command'"),
    ({"type": "HTTP", "http": {}}, "http.port"),
    ({"type": "COMMAND", "command": {"value": "true"}, "interval_seconds": -1},
     "interval_seconds"),
    ({"type": "COMMAND", "command": {"value": "true"}, "delay_seconds": "soon"},
     "delay_seconds"),
    ({"type": "BOGUS"}, "Unsupported"),
])
def test_invalid_health_check_is_a_task_error(harness, sched, check, problem):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-bad", "true", health_check=check)])
    error = sched.wait_state("t-bad", "TASK_ERROR")
    assert error["reason"] == "REASON_TASK_INVALID" and problem in error["message"]


def test_duplicated_updates_arrive_twice_with_the_same_uuid(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    harness.master.faults.duplicate_updates = True
    launch(driver, sched, agent, "t-dup", "true", wait_state="TASK_FINISHED")
    wait_until(lambda: sched.states("t-dup").count("TASK_FINISHED") == 2, what="duplicate")
    with sched.lock:
        updates = [u for u in sched.updates if u["task_id"]["value"] == "t-dup"]
    assert [u["state"] for u in updates] == [
        "TASK_STARTING", "TASK_STARTING", "TASK_RUNNING", "TASK_RUNNING",
        "TASK_FINISHED", "TASK_FINISHED"]
    assert all(a["uuid"] == b["uuid"] for a, b in zip(updates[::2], updates[1::2], strict=True))


def test_delayed_updates_arrive_late_but_in_order(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    harness.master.faults.update_delay_s = 3.0
    task = launch(driver, sched, agent, "t-late", "true", wait_state=None)
    wait_until(lambda: task.state == "TASK_FINISHED", what="task finished on the agent")
    assert sched.states("t-late") == []
    harness.master.faults.update_delay_s = 0.0
    sched.wait_state("t-late", "TASK_FINISHED")
    seen: list[str] = []
    for state in sched.states("t-late"):
        if state not in seen:
            seen.append(state)
    assert seen == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]


def test_an_event_sent_after_a_late_one_waits_behind_it():
    """A slow link delays the stream, not one event: an offer sent after a delayed update
    (say of the resources its task returned) reaches the scheduler after it."""
    stream = Subscription("s")
    stream.send_late({"type": "UPDATE"}, 0.2)
    stream.send({"type": "OFFERS"})
    assert stream.events.empty()

    def released() -> bool:
        stream.release_due()
        return stream.events.qsize() == 2
    wait_until(released, what="the held events released")
    kinds = [json.loads(stream.events.get().split(b"\n", 1)[1])["type"] for _ in range(2)]
    assert kinds == ["UPDATE", "OFFERS"]
    stream.send({"type": "HEARTBEAT"})
    assert stream.events.qsize() == 1


def test_checks_go_on_while_the_agent_is_cut_off(harness, sched):
    """The checker lives in the executor: a check due while the agent is unreachable still
    runs, and its result reaches the framework once the agent is back."""
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    check = {**FAST_CHECK, "command": {"value": "test -f ok"}, "grace_period_seconds": 600}
    task = launch(driver, sched, agent, "t-cut", "exec sleep 600", health_check=check)
    harness.master.lose_agent(agent.id)
    (task.sandbox / "ok").touch()
    wait_until(lambda: task.healthy is True, what="a passing check while cut off")
    harness.master.restore_agent(agent.id)
    healthy = wait_until(lambda: _health_updates(sched, "t-cut"), what="the health update")
    assert healthy[0]["healthy"] is True
