"""Scheduler failover: dropped streams, master failover, competing instances, timeouts."""

from __future__ import annotations

import time

import pytest

from framework.mesos import reconcile_tasks
from tests.devcluster.harness import (
    VERSIONS,
    RecordingScheduler,
    launch,
    process_gone,
    wait_quietly,
)
from tests.devcluster.rawhttp import post
from tests.wait import wait_until


def test_resubscribe_after_dropped_stream_keeps_tasks(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = sched.registered_id()
    launch(driver, sched, agent, "t-run", "exec sleep 600")
    harness.master.drop_stream(framework_id)
    wait_until(lambda: sched.kinds("reregistered"), what="reregistered")
    assert sched.kinds("disconnected")
    assert driver.framework_id == framework_id
    before = len(sched.updates)
    driver.reconcileTasks([])
    wait_until(lambda: len(sched.updates) > before, what="reconciliation after re-subscribe")
    assert sched.updates[-1]["state"] == "TASK_RUNNING"


def _wait_acknowledged(*agents) -> None:
    """Every update of the agents' tasks acknowledged before the failover: pymesos would
    acknowledge a late one to the recovering master, get 503 ("Master has not finished
    recovery") and stop its driver, which these tests are not about."""
    wait_until(lambda: not any(task.pending_updates for agent in agents
                               for task in list(agent.tasks.values())),
               what="every update acknowledged")


def test_resubscribe_after_master_failover_gets_new_master(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = sched.registered_id()
    launch(driver, sched, agent, "t-run", "exec sleep 600")
    _wait_acknowledged(agent)
    old_master = harness.get_json("/master/state")["id"]
    harness.master.fail_over()
    wait_until(lambda: sched.kinds("reregistered"), what="reregistered")
    state = harness.get_json("/master/state")
    assert state["id"] != old_master
    assert state["leader_info"]["id"] == state["id"]
    assert [f["id"] for f in state["frameworks"]] == [framework_id]
    assert driver.framework_id == framework_id
    wait_until(lambda: agent.state == "active", what="agent re-registered")
    tasks = harness.get_json("/master/state")["frameworks"][0]["tasks"]
    assert [t["id"] for t in tasks] == ["t-run"]


@pytest.mark.parametrize("version", VERSIONS)
def test_new_master_knows_tasks_only_from_reregistered_agents(make_harness, sched, version):
    """master.cpp `Master::recover`, `Master::reconcile` case (3): after a failover the
    agents are `recovered_slaves` until they re-register; the master knows none of their
    tasks, so explicit reconciliation of them (and, without an agent id, of anything) is
    dropped and implicit reconciliation reports nothing. An agent that does not
    re-register within --agent_reregister_timeout becomes unreachable."""
    harness = make_harness(version, agent_reregister_timeout_s=3.0)
    held, free = harness.add_agent(), harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    launch(driver, sched, held, "t-held", "exec sleep 600")
    launch(driver, sched, free, "t-free", "exec sleep 600")
    _wait_acknowledged(held, free)
    harness.master.fail_over()
    harness.master.lose_agent(held.id)  # it cannot re-register
    wait_until(lambda: sched.kinds("reregistered"), what="reregistered")
    slaves = harness.get_json("/master/slaves")
    assert {a["id"] for a in slaves["recovered_slaves"]} <= {held.id, free.id}
    assert held.id in {a["id"] for a in slaves["recovered_slaves"]}
    wait_until(lambda: free.state == "active", what="the other agent re-registered")
    assert [a["id"] for a in harness.get_json("/master/slaves")["slaves"]] == [free.id]
    before = len(sched.updates)
    reconcile_tasks(driver, [("t-held", held.id)])
    driver.reconcileTasks([{"task_id": {"value": "t-held"}}])
    driver.reconcileTasks([])
    reconcile_tasks(driver, [("t-free", free.id)])
    answers = wait_until(lambda: [u for u in sched.updates[before:]
                                if u["reason"] == "REASON_RECONCILIATION"
                                and u["task_id"]["value"] == "t-free"][1:],
                       what="both answers about the re-registered agent's task")
    recon = [(u["task_id"]["value"], u["state"]) for u in sched.updates[before:]
             if u["reason"] == "REASON_RECONCILIATION"]
    assert recon == [("t-free", "TASK_RUNNING"), ("t-free", "TASK_RUNNING")], answers
    wait_until(lambda: held.state == "unreachable", deadline_s=10,
               what="the recovered agent marked unreachable")
    wait_until(lambda: held.id in sched.kinds("agent_lost"), what="its FAILURE event")
    before = len(sched.updates)
    reconcile_tasks(driver, [("t-held", held.id)])
    assert wait_until(lambda: sched.updates[before:], what="an answer")[0]["state"] == \
        "TASK_UNREACHABLE"
    before = len(sched.updates)
    harness.master.restore_agent(held.id)
    wait_until(lambda: held.state == "active", what="the agent back")
    if version == "1.8":
        back = wait_until(lambda: sched.updates[before:], what="the forwarded state")
        assert [(u["state"], u["reason"]) for u in back] == [
            ("TASK_RUNNING", "REASON_AGENT_REREGISTERED")]
    else:
        assert not wait_quietly(lambda: sched.updates[before:])


def test_second_instance_takes_over_and_old_stream_is_closed(harness):
    agent = harness.add_agent()
    first = RecordingScheduler()
    harness.driver(first)
    framework_id = first.registered_id()
    second = RecordingScheduler()
    driver = harness.driver(second, framework_id=framework_id)
    wait_until(lambda: second.kinds("reregistered"), what="second instance subscribed")
    assert wait_until(lambda: first.kinds("error"), what="error to the old instance") == [
        "Framework failed over"]
    assert not second.kinds("error")
    launch(driver, second, agent, "t-new", "true", wait_state="TASK_FINISHED")
    assert harness.get_json("/master/state")["frameworks"][0]["connected"] is True


def test_teardown_kills_tasks_and_later_subscribe_is_refused(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    driver.stop(failover=False)
    driver.join()
    wait_until(lambda: process_gone(task), what="task process killed")
    wait_until(lambda: "t-run" not in agent.tasks, what="task forgotten by the agent")
    state = harness.get_json("/master/state")
    assert state["frameworks"] == []
    assert [f["id"] for f in state["completed_frameworks"]] == [framework_id]
    again = RecordingScheduler()
    harness.driver(again, framework_id=framework_id)
    assert wait_until(lambda: again.kinds("error"), what="error") == ["Framework has been removed"]
    assert not again.kinds("registered") and not again.kinds("reregistered")
    wait_until(lambda: agent.free["*"].scalars["cpus"] == 4.0, what="task resources released")


def test_framework_not_back_within_failover_timeout_is_removed(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, failover_timeout=0.5)
    framework_id = sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    driver.stop(failover=True)
    driver.join()
    wait_until(lambda: framework_id in harness.master.removed_frameworks,
             what="framework removed after its failover timeout")
    wait_until(lambda: process_gone(task), what="task process killed")
    assert task.state == "TASK_KILLED"
    again = RecordingScheduler()
    harness.driver(again, framework_id=framework_id)
    assert wait_until(lambda: again.kinds("error"), what="error") == ["Framework has been removed"]


def test_framework_back_within_failover_timeout_keeps_tasks(harness, sched):
    timeout_s = 0.6
    agent = harness.add_agent()
    driver = harness.driver(sched, failover_timeout=timeout_s)
    framework_id = sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    driver.stop(failover=True)
    driver.join()
    wait_until(lambda: not harness.master.frameworks[framework_id].connected,
             what="master noticed the disconnect")
    left_at = time.monotonic()
    back = RecordingScheduler()
    harness.driver(back, framework_id=framework_id, failover_timeout=timeout_s)
    wait_until(lambda: back.kinds("reregistered"), what="reregistered")
    # The expired timer of the earlier disconnect must not remove the framework.
    wait_until(lambda: time.monotonic() > left_at + 2 * timeout_s, what="timeout passed")
    assert framework_id in harness.master.frameworks
    assert not process_gone(task) and task.state == "TASK_RUNNING"


def test_operator_teardown_endpoint_removes_the_framework(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert post(harness.master.address, b"", form, path="/master/teardown").status == 400
    assert post(harness.master.address, b"frameworkId=nope", form,
                path="/master/teardown").status == 400
    answer = post(harness.master.address, f"frameworkId={framework_id}".encode(), form,
                  path="/master/teardown")
    assert answer.status == 200
    wait_until(lambda: process_gone(task), what="task killed")
    assert wait_until(lambda: sched.kinds("error"), what="error") == ["Framework has been removed"]
