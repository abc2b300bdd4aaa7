"""The uninstall plan: calico-node stopped, the installer's uninstall, the proxy stopped, per
agent, under the restart budget; then one Teardown."""

from __future__ import annotations

import json

import pytest

from framework.engine import (
    AfterRemoval,
    AgentRemoved,
    AgentUnreachable,
    Engine,
    Kill,
    Launch,
    OperatorNote,
    Pause,
    Policy,
    RetryAgent,
    RetryPolicy,
    Revive,
    RolloutControl,
    SkipAgent,
    Subscribed,
    Suppress,
    Teardown,
    Tick,
    Uninstall,
)
from tests.engine.kit import Driver, launch_step, of_type, refuse_seconds

AGENTS = ("a1", "a2", "a3")


def installed(k: int = 1, agents=AGENTS, **policy) -> Driver:
    driver = Driver(policy=Policy(max_concurrent_restarts=k, **policy), agents=agents)
    for agent_id in agents:
        driver.complete_agent(agent_id)
    assert all(driver.state(a) == "complete" for a in agents)
    return driver


def uninstall(driver: Driver):
    return driver.send(Uninstall("cosmos", "dcos package uninstall"), advance=1)


def task(driver: Driver, agent_id: str, step: str) -> str:
    return driver.engine.agents[agent_id].step(step).task_id


def kill_of(decision) -> Kill:
    (kill,) = of_type(decision, Kill)
    return kill


def uninstall_agent(driver: Driver, agent_id: str) -> list[str]:
    """Drive one agent through its uninstall; the names of what happened, in order."""
    seen = []
    for _ in range(10):
        decision = driver.offer(agent_id)
        launches = of_type(decision, Launch)
        kills = of_type(decision, Kill)
        if launches:
            seen.append(launches[0].step)
            driver.status(launches[0].task_id, "TASK_FINISHED")
        elif kills:
            step = kills[0].task_id.split(".")[0].removeprefix("calico-")
            seen.append(f"kill {step}")
            driver.status(kills[0].task_id, "TASK_KILLED")
        else:
            return seen
    raise AssertionError(f"{agent_id} did not settle")


def test_the_request_is_recorded_once_and_switches_the_plan():
    driver = installed(agents=("a1",))
    decision = uninstall(driver)
    note = OperatorNote("uninstall", "cosmos", driver.now, "dcos package uninstall")
    assert decision.control == RolloutControl(uninstall=note)
    assert Revive() in decision.actions
    assert [(n.text, n.by) for n in decision.notices] == [
        ("uninstall requested: dcos package uninstall", "cosmos")]
    assert driver.engine.uninstalling and driver.state("a1") == "pending"
    assert uninstall(driver).control is None  # never asked twice, never withdrawn
    assert RolloutControl.from_dict(json.loads(json.dumps(decision.control.to_dict()))) == \
        decision.control


def test_each_agent_stops_calico_node_uninstalls_then_stops_the_proxy():
    driver = installed(agents=("a1",))
    uninstall(driver)
    assert uninstall_agent(driver, "a1") == [
        "kill calico-node", "uninstall", "kill etcd-proxy"]
    assert driver.state("a1") == "complete"
    doc = driver.agent_doc("a1")
    assert [(s["name"], s["state"]) for s in doc["steps"]] == [
        ("stop-calico-node", "complete"), ("uninstall", "complete"),
        ("stop-etcd-proxy", "complete")]


def test_teardown_is_asked_once_when_every_agent_is_done_and_again_after_resubscribing():
    driver = installed(agents=("a1", "a2"))
    uninstall(driver)
    uninstall_agent(driver, "a1")
    node = kill_of(driver.offer("a2")).task_id
    driver.status(node, "TASK_KILLED")
    driver.status(driver.launch("a2").task_id, "TASK_FINISHED")
    proxy = kill_of(driver.offer("a2")).task_id
    assert not driver.engine.uninstall_complete()
    last = driver.status(proxy, "TASK_KILLED")
    assert Teardown() in last.actions and Suppress() in last.actions
    assert driver.engine.uninstall_complete()
    assert Teardown() not in driver.send(Tick()).actions
    assert Teardown() in driver.send(Subscribed()).actions
    assert driver.engine.status_document(driver.now)["rollout"]["state"] == "complete"


def test_agents_where_nothing_ran_are_complete_at_once():
    driver = Driver(agents=("a1", "a2"))
    decision = uninstall(driver)
    assert Teardown() in decision.actions
    assert driver.agent_doc("a1")["steps"] == [{
        "name": "uninstall", "state": "complete", "task_id": None, "attempts": 0,
        "message": "nothing to remove: no task of this framework ran here",
        "updated_at": None, "disruptive": True, "target_hash": "uninstalled",
        "needs_restart": False, "restart_reason": None}]
    assert driver.state("a1") == "complete"


@pytest.mark.parametrize("k", [1, 2])
def test_at_most_k_agents_are_uninstalling_and_a_slot_is_held_from_the_node_kill(k):
    driver = installed(k=k)
    uninstall(driver)
    kills = {a: of_type(driver.offer(a), Kill) for a in AGENTS}
    assert [a for a, found in kills.items() if found] == list(AGENTS[:k])
    assert driver.engine.restart_slot_holders() == set(AGENTS[:k])
    waiting = AGENTS[k]
    assert driver.reason(waiting).startswith(
        "waiting for a restart slot to stop calico-node: held by a1.example")
    # calico-node stopped: the slot stays until the uninstall step finished.
    driver.status(kills["a1"][0].task_id, "TASK_KILLED")
    assert "a1" in driver.engine.restart_slot_holders()
    assert of_type(driver.offer(waiting), Kill) == []
    assert refuse_seconds(driver.offer(waiting)) == [Policy().refuse_wait_s]  # next in line
    launch = driver.launch("a1")
    assert launch.step == "uninstall" and launch.target_hash == "uninstalled"
    driver.status(launch.task_id, "TASK_RUNNING")
    assert "a1" in driver.engine.restart_slot_holders()
    decision = driver.status(launch.task_id, "TASK_FINISHED")
    assert "a1" not in driver.engine.restart_slot_holders()
    assert Revive() not in decision.actions  # the next in line is offered again soon
    assert of_type(driver.offer(waiting), Kill)


@pytest.mark.parametrize(("state", "message", "reason"), [
    ("TASK_FAILED", "Command exited with status 75", None),
    ("TASK_KILLED", None, "REASON_AGENT_RESTARTED"),
])
def test_run_again_keeps_the_slot_and_costs_no_attempt(state, message, reason):
    driver = installed(agents=("a1", "a2"))
    uninstall(driver)
    driver.status(kill_of(driver.offer("a1")).task_id, "TASK_KILLED")
    first = driver.launch("a1")
    driver.status(first.task_id, state, message=message, reason=reason)
    assert driver.engine.restart_slot_holders() == {"a1"}
    assert of_type(driver.offer("a2"), Kill) == []
    again = driver.launch("a1")
    assert again.step == "uninstall"
    rec = driver.engine.agents["a1"].step("uninstall")
    assert (rec.failures, rec.reruns) == (0, 1)


def test_a_failing_uninstall_backs_off_fails_halts_and_can_be_retried_or_skipped():
    driver = installed(agents=("a1", "a2"),
                       retry=RetryPolicy(max_attempts=2, backoff_base_s=10, backoff_cap_s=10))
    uninstall(driver)
    driver.status(kill_of(driver.offer("a1")).task_id, "TASK_KILLED")
    driver.status(driver.launch("a1").task_id, "TASK_FAILED", message="docker did not start")
    assert driver.launch("a1") is None
    assert driver.reason("a1").startswith("uninstall failed (docker did not start); backing off")
    driver.now += 10
    driver.status(driver.launch("a1").task_id, "TASK_FAILED", message="docker did not start")
    assert driver.state("a1") == "failed"
    assert driver.reason("a1") == ("uninstall failed after 2 attempt(s): docker did not start; "
                                   "retry, or skip to leave this agent as it is")
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert rollout["state"] == "halted" and rollout["reason"].startswith("uninstall halted: 1")
    assert driver.engine.restart_slot_holders() == {"a1"}  # strict budget
    assert of_type(driver.offer("a2"), Kill) == []
    driver.send(RetryAgent("a1", "ops", "docker fixed"))
    assert driver.launch("a1").step == "uninstall"
    driver.send(SkipAgent("a1", "ops", "leave it"))
    assert driver.state("a1") == "complete"
    assert driver.engine.restart_slot_holders() == set()
    skipped = driver.engine.status_document(driver.now)["rollout"]["uninstall"]["skipped"]
    assert skipped == [{"id": "a1", "hostname": "a1.example"}]


def test_an_unreachable_agent_holds_the_teardown_until_it_returns_is_skipped_or_gone():
    driver = installed(agents=("a1", "a2"), k=2)
    uninstall(driver)
    driver.send(AgentUnreachable("a2"))
    uninstall_agent(driver, "a1")
    assert not driver.engine.uninstall_complete()
    assert "the uninstall waits for it to return (skip it" in driver.reason("a2")
    decision = driver.send(AgentRemoved("a2"))
    assert Teardown() in decision.actions


def test_a_running_install_task_finishes_before_the_uninstall_begins():
    driver = Driver(agents=("a1",))
    docker = launch_step(driver, "a1", "docker")
    uninstall(driver)
    assert driver.launch("a1") is None and of_type(driver.offer("a1"), Kill) == []
    assert driver.reason("a1") == ("waiting for its docker install task to finish before "
                                   "uninstalling")
    assert driver.engine.restart_slot_holders() == {"a1"}
    driver.succeed(docker)
    assert driver.launch("a1").step == "uninstall"  # no calico-node ran here


def test_no_install_step_starts_once_uninstalling():
    driver = Driver(agents=("a1",))
    proxy = driver.launch("a1")
    driver.succeed(proxy)
    uninstall(driver)
    decision = driver.offer("a1")
    assert [k.task_id for k in of_type(decision, Kill)] == []
    assert [a.step for a in of_type(decision, Launch)] == ["uninstall"]


def test_a_restarted_engine_resumes_with_the_slot_still_held():
    driver = installed(agents=("a1", "a2"))
    uninstall(driver)
    driver.status(kill_of(driver.offer("a1")).task_id, "TASK_KILLED")
    engine = Engine(driver.plan, driver.engine.policy, driver.engine.agents.values(),
                    driver.engine.control)
    assert engine.uninstalling and engine.restart_slot_holders() == {"a1"}
    driver.engine = engine
    assert of_type(driver.offer("a2"), Kill) == []
    assert driver.launch("a1").step == "uninstall"


def test_pause_stops_new_kills_and_says_so():
    driver = installed(agents=("a1",))
    uninstall(driver)
    driver.send(Pause("alice", "not now"))
    assert of_type(driver.offer("a1"), Kill) == []
    assert driver.reason("a1").startswith("uninstall paused by alice")
    assert driver.engine.control.uninstalling  # pausing keeps the request


def test_an_uninstall_decision_rolled_back_restores_the_install_plan():
    driver = installed(agents=("a1",))
    decision = uninstall(driver)
    driver.engine.rollback(decision)
    assert not driver.engine.uninstalling
    assert driver.state("a1") == "complete" and driver.engine.restart_slot_holders() == set()
    assert Teardown() not in driver.send(Tick()).actions


def test_what_follows_the_frameworks_removal():
    """The master removed the framework: its tasks are gone, what the installer changed is
    not. Installing, the agents are found afresh; uninstalling, their records still say
    where Calico is; once the uninstall is complete, nothing is left to do."""
    driver = installed(agents=("a1",))
    assert driver.engine.after_removal() is AfterRemoval.REGISTER_AFRESH
    uninstall(driver)
    assert driver.engine.after_removal() is AfterRemoval.FINISH_UNINSTALL
    uninstall_agent(driver, "a1")
    assert driver.engine.uninstall_complete()
    assert driver.engine.after_removal() is AfterRemoval.UNINSTALLED
