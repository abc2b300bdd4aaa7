"""Agent unit restarts, partitions and removal as a scheduler sees them, per Mesos version.

Sources (apache/mesos, 1.4.3 and 1.8.x as devcluster.versions names them): master.cpp
`Master::exited`, `Master::removeFramework(Slave*, Framework*)`, `Master::_markUnreachable`,
`Master::__reregisterSlave` (1.8.x) / `Master::_reregisterSlave` (1.4.3),
`Master::markGone` (1.8.x), `Master::unregisterSlave` (1.4.3), `Master::exitedExecutor`;
slave.cpp `Slave::reregisterExecutorTimeout`, `Executor::Executor`.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from framework.mesos import reconcile_tasks
from tests.devcluster.harness import (
    FAST,
    VERSIONS,
    command_task,
    launch,
    process_gone,
    wait_quietly,
)
from tests.wait import wait_until

PARTITION_AWARE = ("MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE")
NOT_PARTITION_AWARE = ("MULTI_ROLE", "TASK_KILLING_STATE")


def _held_offer(sched, agent_id: str) -> str:
    def find():
        with sched.lock:
            return next((o["id"]["value"] for o in sched.offers
                         if o["agent_id"]["value"] == agent_id), None)
    return wait_until(find, what=f"an offer held from {agent_id}")


def _unit_active(harness, agent) -> bool:
    return harness.master.agent_unit_state(agent.id)["active_state"] == "active"


def test_restart_keeps_checkpointed_tasks_and_rescinds_offers(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, checkpoint=True)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    pid = task.proc.pid
    offer_id = _held_offer(sched, agent.id)
    harness.master.agent_unit_action(agent.id, "restart", duration_s=1.0)
    assert harness.master.agent_unit_state(agent.id)["active_state"] == "activating"
    assert harness.get_json("/master/slaves")["slaves"][0]["active"] is False
    assert offer_id in wait_until(lambda: sched.kinds("rescinded"), what="rescind")
    wait_until(lambda: _unit_active(harness, agent), what="agent back")
    assert harness.master.agent_unit_state(agent.id)["restarts"] == 1
    assert task.proc.pid == pid and not process_gone(task)
    assert sched.states("t-run") == ["TASK_STARTING", "TASK_RUNNING"]
    new_offer = sched.take_offer(agent.id)
    assert new_offer["id"]["value"] != offer_id
    cpus = next(r for r in new_offer["resources"] if r["name"] == "cpus")
    assert cpus["scalar"]["value"] == pytest.approx(3.9)


@pytest.mark.parametrize("capabilities", [PARTITION_AWARE, NOT_PARTITION_AWARE])
def test_restart_ends_tasks_of_frameworks_without_checkpoint_lost(harness, sched,
                                                                   capabilities):
    """`Master::removeFramework(Slave*, ...)`: TASK_LOST, partition-aware or not."""
    agent = harness.add_agent()
    driver = harness.driver(sched, checkpoint=False, capabilities=capabilities)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    harness.master.agent_unit_action(agent.id, "restart", duration_s=1.0)
    # Reported as soon as the agent disconnects, not when it comes back.
    update = sched.wait_state("t-run", "TASK_LOST")
    assert harness.master.agent_unit_state(agent.id)["active_state"] == "activating"
    assert update["reason"] == "REASON_AGENT_DISCONNECTED"
    assert update["message"] == f"Agent {agent.spec.hostname} disconnected"
    assert update["source"] == "SOURCE_MASTER"
    wait_until(lambda: process_gone(task), what="task process killed with the agent")
    offer = sched.take_offer(agent.id)
    cpus = next(r for r in offer["resources"] if r["name"] == "cpus")
    assert cpus["scalar"]["value"] == 4.0


def test_stop_then_start_unit(harness, sched):
    agent = harness.add_agent()
    harness.driver(sched)
    sched.registered_id()
    offer_id = _held_offer(sched, agent.id)
    harness.master.agent_unit_action(agent.id, "stop")
    assert harness.master.agent_unit_state(agent.id)["active_state"] == "inactive"
    assert offer_id in wait_until(lambda: sched.kinds("rescinded"), what="rescind")
    harness.master.agent_unit_action(agent.id, "start", duration_s=0.0)
    wait_until(lambda: _unit_active(harness, agent), what="agent started")
    assert sched.take_offer(agent.id)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("capabilities", "expected"), [
    (PARTITION_AWARE, "TASK_UNREACHABLE"),
    (NOT_PARTITION_AWARE, "TASK_LOST"),
])
def test_lost_agent_then_restored(make_harness, sched, version, capabilities, expected):
    """Unreachable: TASK_UNREACHABLE (TASK_LOST without PARTITION_AWARE) with the time it
    was marked, and FAILURE. Back: 1.8.x forwards each task's state with
    REASON_AGENT_REREGISTERED; 1.4.3 says nothing to a partition-aware framework and
    shuts any other down on the agent."""
    harness = make_harness(version)
    agent = harness.add_agent()
    driver = harness.driver(sched, capabilities=capabilities)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    offer_id = _held_offer(sched, agent.id)
    harness.master.lose_agent(agent.id)
    update = sched.wait_state("t-run", expected)
    assert update["reason"] == "REASON_AGENT_REMOVED"
    assert update["message"] == (f"Agent {agent.spec.hostname} is unreachable: "
                                 "health check timed out")
    assert "unreachable_time" in update
    assert wait_until(lambda: sched.kinds("agent_lost"), what="slaveLost") == [agent.id]
    assert offer_id in wait_until(lambda: sched.kinds("rescinded"), what="rescind")
    assert not process_gone(task)
    slaves = harness.get_json("/master/slaves")
    assert agent.id not in {a["id"] for a in slaves["slaves"] + slaves["recovered_slaves"]}
    state = harness.get_json("/master/state")
    assert state["unreachable_slaves"] == 1
    assert state["frameworks"][0]["tasks"] == []
    assert [t["id"] for t in state["frameworks"][0]["unreachable_tasks"]] == (
        ["t-run"] if expected == "TASK_UNREACHABLE" else [])
    before = len(sched.updates)
    driver.reconcileTasks([])
    assert not wait_quietly(lambda: len(sched.updates) > before), \
        "implicit reconciliation reported a task of an unreachable agent"

    harness.master.restore_agent(agent.id)
    sched.take_offer(agent.id)
    back = [u for u in sched.updates[before:] if u["task_id"]["value"] == "t-run"]
    if version == "1.8":
        assert [(u["state"], u["reason"]) for u in back] == [
            ("TASK_RUNNING", "REASON_AGENT_REREGISTERED")]
        assert back[0]["message"] == "Unreachable agent re-reregistered"
        assert not process_gone(task)
    elif expected == "TASK_UNREACHABLE":
        assert back == []
        assert not process_gone(task)
    else:
        assert back == []
        wait_until(lambda: process_gone(task), what="the framework shut down on the agent")
    assert agent.id in {a["id"] for a in harness.get_json("/master/slaves")["slaves"]}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("capabilities", [PARTITION_AWARE, NOT_PARTITION_AWARE])
def test_registered_agent_leaving_for_good(make_harness, sched, version, capabilities):
    """1.8.x marks it gone: TASK_GONE_BY_OPERATOR, REASON_AGENT_REMOVED_BY_OPERATOR.
    1.4.3 has no gone state; the agent unregisters: TASK_LOST, REASON_AGENT_REMOVED.
    Without PARTITION_AWARE both send TASK_LOST, REASON_AGENT_REMOVED; FAILURE follows."""
    harness = make_harness(version)
    agent = harness.add_agent()
    other = harness.add_agent()
    driver = harness.driver(sched, capabilities=capabilities)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    harness.master.remove_agent(agent.id)
    aware = capabilities == PARTITION_AWARE
    if version == "1.8":
        expected = ("TASK_GONE_BY_OPERATOR" if aware else "TASK_LOST",
                    "REASON_AGENT_REMOVED_BY_OPERATOR" if aware else "REASON_AGENT_REMOVED",
                    "Agent has been marked gone")
    else:
        expected = ("TASK_LOST", "REASON_AGENT_REMOVED",
                    f"Agent {agent.spec.hostname} removed: the agent unregistered")
    update = wait_until(lambda: [u for u in sched.updates if u["state"] != "TASK_STARTING"
                               and u["state"] != "TASK_RUNNING"], what="the task ended")[0]
    assert (update["state"], update["reason"], update["message"]) == expected
    assert wait_until(lambda: sched.kinds("agent_lost"), what="slaveLost") == [agent.id]
    wait_until(lambda: process_gone(task), what="task process killed")
    slaves = harness.get_json("/master/slaves")["slaves"]
    assert [a["id"] for a in slaves] == [other.id]
    with sched.lock:
        sched.offers.clear()
    harness.master.allocate()
    assert all(o["agent_id"]["value"] == other.id for o in sched.offers)


@pytest.mark.parametrize("version", VERSIONS)
def test_unreachable_agent_leaving_for_good(make_harness, sched, version):
    """1.8.x (13e4cd1c): marking an unreachable agent gone ends its tasks
    TASK_GONE_BY_OPERATOR, without FAILURE; reconciliation then says gone. 1.4.3: the
    registry forgets it silently; reconciliation then says TASK_UNKNOWN."""
    harness = make_harness(version)
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    launch(driver, sched, agent, "t-run", "exec sleep 600")
    harness.master.lose_agent(agent.id)
    sched.wait_state("t-run", "TASK_UNREACHABLE")
    failures = len(sched.kinds("agent_lost"))
    before = len(sched.updates)
    harness.master.remove_agent(agent.id)
    if version == "1.8":
        gone = sched.wait_state("t-run", "TASK_GONE_BY_OPERATOR")
        assert gone["reason"] == "REASON_AGENT_REMOVED_BY_OPERATOR"
    else:
        assert not wait_quietly(lambda: len(sched.updates) > before)
    assert len(sched.kinds("agent_lost")) == failures
    before = len(sched.updates)
    reconcile_tasks(driver, [("t-run", agent.id)])
    answer = wait_until(lambda: sched.updates[before:], what="an answer")[0]
    assert (answer["state"], answer["message"]) == (
        ("TASK_GONE_BY_OPERATOR", "Reconciliation: Task is gone") if version == "1.8"
        else ("TASK_UNKNOWN", "Reconciliation: Task is unknown"))


def test_restart_with_an_unacknowledged_update_never_resends_it_after_the_loss(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, checkpoint=False, implicit_acks=False)
    sched.registered_id()
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-run", "exec sleep 600")])
    sched.wait_state("t-run", "TASK_STARTING")
    harness.master.agent_unit_action(agent.id, "restart", duration_s=0.2)
    sched.wait_state("t-run", "TASK_LOST")
    wait_until(lambda: _unit_active(harness, agent), what="agent back")
    wait_until(lambda: time.monotonic() > sched.update_times[-1] + 3 * FAST.status_retry_s,
             what="retry intervals passed")
    assert sched.states("t-run")[-1] == "TASK_LOST"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("capabilities", [PARTITION_AWARE, NOT_PARTITION_AWARE])
def test_executor_that_cannot_reregister_after_a_restart_is_gone(make_harness, sched,
                                                                 version, capabilities):
    """`reregisterExecutorTimeout`: a hung executor (here: a stopped process) is killed
    and its task ends TASK_GONE (TASK_LOST without PARTITION_AWARE); a healthy one
    re-registers and its task goes on."""
    harness = make_harness(version)
    agent = harness.add_agent()
    driver = harness.driver(sched, capabilities=capabilities)
    sched.registered_id()
    hung = launch(driver, sched, agent, "t-hung", "exec sleep 600")
    fine = launch(driver, sched, agent, "t-fine", "exec sleep 600")
    harness.master.agent_unit_action(agent.id, "restart", duration_s=0.2)
    os.killpg(hung.proc.pid, signal.SIGSTOP)
    state = "TASK_GONE" if capabilities == PARTITION_AWARE else "TASK_LOST"
    update = sched.wait_state("t-hung", state)
    assert update["reason"] == "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"
    assert update["message"] == ("Executor did not reregister within 500ms" if version == "1.8"
                                 else "Executor did not re-register within 500ms")
    wait_until(lambda: process_gone(hung), what="the hung executor killed")
    assert not process_gone(fine) and sched.states("t-fine")[-1] == "TASK_RUNNING"


@pytest.mark.parametrize("version", VERSIONS)
def test_command_executor_exit_after_a_reregistration(make_harness, sched, version):
    """On DC/OS 1.10 (1.4.3, symlinked --launcher_dir) a command executor re-registers as a
    custom one, and its exit reaches the framework as FAILURE with the executor id; the
    1.8.x of DC/OS 1.13.9 recognises it and sends nothing."""
    harness = make_harness(version)
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    launch(driver, sched, agent, "t-before", "exec sleep 600")
    harness.master.agent_unit_action(agent.id, "restart", duration_s=0.0)
    wait_until(lambda: agent.reregistered_time, what="agent re-registered")
    launch(driver, sched, agent, "t-after", "exec sleep 600")
    driver.killTask({"value": "t-before"})
    driver.killTask({"value": "t-after"})
    sched.wait_state("t-before", "TASK_KILLED")
    sched.wait_state("t-after", "TASK_KILLED")
    if version == "1.4":
        lost = wait_until(lambda: sched.kinds("executor_lost"), what="executorLost")
        assert lost == [("t-before", agent.id, 0)]
    else:
        assert not wait_quietly(lambda: sched.kinds("executor_lost"))
    assert not sched.kinds("agent_lost")


def test_partitioned_agent_restored_while_its_unit_is_down_registers_when_it_starts(
        harness, sched):
    agent = harness.add_agent()
    harness.driver(sched)
    sched.registered_id()
    harness.master.lose_agent(agent.id)
    harness.master.agent_unit_action(agent.id, "stop")
    harness.master.restore_agent(agent.id)
    assert agent.state == "unreachable"
    harness.master.agent_unit_action(agent.id, "start", duration_s=0.0)
    wait_until(lambda: agent.state == "active", what="the agent registered again")
    assert sched.take_offer(agent.id)
