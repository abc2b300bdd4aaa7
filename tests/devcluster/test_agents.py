"""Agent unit restarts, partitions and removal as a scheduler sees them."""

from __future__ import annotations

import time

import pytest

from tests.devcluster.harness import FAST, command_task, launch, process_gone
from tests.wait import wait_until

NOT_PARTITION_AWARE = ("MULTI_ROLE", "TASK_KILLING_STATE")


def _held_offer(sched, agent_id: str) -> str:
    def find():
        with sched.lock:
            return next((o["id"]["value"] for o in sched.offers
                         if o["agent_id"]["value"] == agent_id), None)
    return wait_until(find, what=f"an offer held from {agent_id}")


def test_restart_keeps_checkpointed_tasks_and_rescinds_offers(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, checkpoint=True)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    pid = task.proc.pid
    offer_id = _held_offer(sched, agent.id)
    harness.master.agent_unit_action(agent.id, "restart", duration_s=1.0)
    assert harness.master.agent_unit_state(agent.id)["active_state"] == "activating"
    assert offer_id in wait_until(lambda: sched.kinds("rescinded"), what="rescind")
    wait_until(lambda: harness.master.agent_unit_state(agent.id)["active_state"] == "active",
             what="agent back")
    assert harness.master.agent_unit_state(agent.id)["restarts"] == 1
    assert task.proc.pid == pid and not process_gone(task)
    assert sched.states("t-run") == ["TASK_STARTING", "TASK_RUNNING"]
    new_offer = sched.take_offer(agent.id)
    assert new_offer["id"]["value"] != offer_id
    cpus = next(r for r in new_offer["resources"] if r["name"] == "cpus")
    assert cpus["scalar"]["value"] == pytest.approx(3.9)


@pytest.mark.parametrize(("capabilities", "expected"), [
    (("MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE"), "TASK_GONE"),
    (NOT_PARTITION_AWARE, "TASK_LOST"),
])
def test_restart_ends_tasks_of_frameworks_without_checkpoint(harness, sched, capabilities,
                                                             expected):
    agent = harness.add_agent()
    driver = harness.driver(sched, checkpoint=False, capabilities=capabilities)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    harness.master.agent_unit_action(agent.id, "restart", duration_s=1.0)
    # Reported as soon as the agent disconnects, not when it comes back.
    update = sched.wait_state("t-run", expected)
    assert harness.master.agent_unit_state(agent.id)["active_state"] == "activating"
    assert update["reason"] == "REASON_AGENT_DISCONNECTED"
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
    wait_until(lambda: harness.master.agent_unit_state(agent.id)["active_state"] == "active",
             what="agent started")
    assert sched.take_offer(agent.id)


@pytest.mark.parametrize(("capabilities", "expected"), [
    (("MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE"), "TASK_UNREACHABLE"),
    (NOT_PARTITION_AWARE, "TASK_LOST"),
])
def test_lost_agent_then_restored(harness, sched, capabilities, expected):
    agent = harness.add_agent()
    driver = harness.driver(sched, capabilities=capabilities)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    offer_id = _held_offer(sched, agent.id)
    harness.master.lose_agent(agent.id)
    update = sched.wait_state("t-run", expected)
    assert update["reason"] == "REASON_AGENT_REMOVED"
    assert ("unreachable_time" in update) == (expected == "TASK_UNREACHABLE")
    assert wait_until(lambda: sched.kinds("agent_lost"), what="slaveLost") == [agent.id]
    assert offer_id in wait_until(lambda: sched.kinds("rescinded"), what="rescind")
    assert not process_gone(task)
    assert agent.id not in {a["id"] for a in harness.get_json("/master/slaves")["slaves"]}
    assert harness.get_json("/master/state")["unreachable_slaves"] == 1
    before = len(sched.updates)
    driver.reconcileTasks([{"task_id": {"value": "t-run"}, "agent_id": {"value": agent.id}}])
    wait_until(lambda: len(sched.updates) > before, what="reconciliation")
    assert sched.updates[-1]["state"] == expected

    harness.master.restore_agent(agent.id)
    running = wait_until(lambda: [u for u in sched.updates[before + 1:]
                                if u["state"] == "TASK_RUNNING"], what="task back")
    assert running[0]["reason"] == "REASON_AGENT_REREGISTERED"
    assert sched.take_offer(agent.id)
    assert agent.id in {a["id"] for a in harness.get_json("/master/slaves")["slaves"]}


@pytest.mark.parametrize(("capabilities", "expected"), [
    (("MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE"), "TASK_GONE_BY_OPERATOR"),
    (NOT_PARTITION_AWARE, "TASK_LOST"),
])
def test_removed_agent_is_gone_for_good(harness, sched, capabilities, expected):
    agent = harness.add_agent()
    other = harness.add_agent()
    driver = harness.driver(sched, capabilities=capabilities)
    sched.registered_id()
    task = launch(driver, sched, agent, "t-run", "exec sleep 600")
    harness.master.remove_agent(agent.id)
    update = sched.wait_state("t-run", expected)
    assert update["reason"] == "REASON_AGENT_REMOVED_BY_OPERATOR"
    assert wait_until(lambda: sched.kinds("agent_lost"), what="slaveLost") == [agent.id]
    wait_until(lambda: process_gone(task), what="task process killed")
    slaves = harness.get_json("/master/slaves")["slaves"]
    assert [a["id"] for a in slaves] == [other.id]
    with sched.lock:
        sched.offers.clear()
    harness.master.allocate()
    assert all(o["agent_id"]["value"] == other.id for o in sched.offers)


def test_restart_with_an_unacknowledged_update_never_resends_it_after_the_loss(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, checkpoint=False, implicit_acks=False)
    sched.registered_id()
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-run", "exec sleep 600")])
    sched.wait_state("t-run", "TASK_STARTING")
    harness.master.agent_unit_action(agent.id, "restart", duration_s=0.2)
    sched.wait_state("t-run", "TASK_GONE")
    wait_until(lambda: harness.master.agent_unit_state(agent.id)["active_state"] == "active",
             what="agent back")
    wait_until(lambda: time.monotonic() > sched.update_times[-1] + 3 * FAST.status_retry_s,
             what="retry intervals passed")
    assert sched.states("t-run")[-1] == "TASK_GONE"
