"""Reconciliation and KILL answers, per Mesos version.

Sources: apache/mesos master.cpp `Master::_reconcileTasks` (1.4.3), `Master::reconcile`
(1.8.x) and `Master::kill`; explicit answers are sent with the agent id through
framework.mesos.reconcile_tasks, since pymesos drops it.
"""

from __future__ import annotations

import pytest

from framework.mesos import kill_task, reconcile_tasks
from tests.devcluster.harness import VERSIONS, command_task, launch, wait_quietly
from tests.wait import wait_until

PARTITION_AWARE = ("MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE")
NOT_PARTITION_AWARE = ("MULTI_ROLE", "TASK_KILLING_STATE")
UNKNOWN_TO_AGENT = "Reconciliation: Task is unknown to the agent"


def _answers(sched, before: int, count: int) -> list[dict]:
    return wait_until(lambda: sched.updates[before:] if len(sched.updates) >= before + count
                    else None, what=f"{count} answers")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("capabilities", [PARTITION_AWARE, NOT_PARTITION_AWARE])
def test_explicit_reconciliation_searches_only_current_tasks(make_harness, sched, version,
                                                            capabilities):
    """A finished, acknowledged task is no longer current: the answer depends only on
    what the master knows of the agent named."""
    harness = make_harness(version)
    agent, lost = harness.add_agent(), harness.add_agent()
    driver = harness.driver(sched, capabilities=capabilities)
    sched.registered_id()
    launch(driver, sched, agent, "t-done", "true", wait_state="TASK_FINISHED")
    launch(driver, sched, agent, "t-run", "exec sleep 600")
    launch(driver, sched, lost, "t-far", "exec sleep 600")
    harness.master.lose_agent(lost.id)
    sched.wait_state("t-far", "TASK_UNREACHABLE" if capabilities == PARTITION_AWARE
                     else "TASK_LOST")
    wait_until(lambda: "t-done" not in agent.tasks, what="the finished task acknowledged")
    before = len(sched.updates)
    reconcile_tasks(driver, [("t-run", agent.id), ("t-done", agent.id), ("t-far", lost.id),
                             ("t-done", "no-such-agent")])
    driver.reconcileTasks([{"task_id": {"value": "t-done"}}])
    got = [(u["task_id"]["value"], u["state"], u["message"])
           for u in _answers(sched, before, 5)]
    aware = capabilities == PARTITION_AWARE
    unknown_here = "TASK_GONE" if version == "1.8" else "TASK_UNKNOWN"
    assert got == [
        ("t-run", "TASK_RUNNING", "Reconciliation: Latest task state"),
        ("t-done", unknown_here if aware else "TASK_LOST", UNKNOWN_TO_AGENT),
        ("t-far", "TASK_UNREACHABLE" if aware else "TASK_LOST",
         "Reconciliation: Task is unreachable"),
        ("t-done", "TASK_UNKNOWN" if aware else "TASK_LOST", "Reconciliation: Task is unknown"),
        ("t-done", "TASK_UNKNOWN" if aware else "TASK_LOST", "Reconciliation: Task is unknown"),
    ]
    answers = sched.updates[before:]
    assert all(u["reason"] == "REASON_RECONCILIATION" and u["source"] == "SOURCE_MASTER"
               and "uuid" not in u for u in answers)
    assert "unreachable_time" in answers[2]


def test_implicit_reconciliation_reports_the_state_being_delivered(make_harness, sched):
    """`status_update_state`: while TASK_STARTING is unacknowledged the master reports it,
    though the agent already knows the task runs."""
    harness = make_harness("1.8")
    agent = harness.add_agent()
    driver = harness.driver(sched, implicit_acks=False)
    sched.registered_id()
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-run", "exec sleep 600")])
    wait_until(lambda: agent.tasks.get("t-run") and agent.tasks["t-run"].state == "TASK_RUNNING",
             what="the task running on the agent")
    before = len(sched.updates)
    driver.reconcileTasks([])
    answer = wait_until(lambda: [u for u in sched.updates[before:]
                               if u.get("reason") == "REASON_RECONCILIATION"],
                      what="the implicit answer")[0]
    assert answer["state"] == "TASK_STARTING"


@pytest.mark.parametrize("version", VERSIONS)
def test_kill_of_an_unknown_task_is_answered_by_reconciliation_and_forgotten(
        make_harness, sched, version):
    harness = make_harness(version, agent_reregister_delay_s=2.0)
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    before = len(sched.updates)
    kill_task(driver, "t-ghost", agent.id)
    answer = _answers(sched, before, 1)[0]
    assert (answer["state"], answer["message"]) == (
        "TASK_GONE" if version == "1.8" else "TASK_UNKNOWN", UNKNOWN_TO_AGENT)
    # After a failover the master does not know the task: the kill is dropped with the
    # reconciliation it became, and the task runs on once its agent re-registers.
    harness.master.fail_over()
    wait_until(lambda: sched.kinds("reregistered"), what="reregistered")
    before = len(sched.updates)
    kill_task(driver, "t-run", agent.id)
    assert not wait_quietly(lambda: sched.updates[before:])
    wait_until(lambda: agent.state == "active", what="agent re-registered")
    assert task.state == "TASK_RUNNING" and task.proc.poll() is None
