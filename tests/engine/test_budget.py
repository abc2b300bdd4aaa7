"""The disruption budget: who may be inside a disruptive step, and who keeps a slot."""

from __future__ import annotations

import pytest

from framework.engine import (
    AgentRemoved,
    AgentUnreachable,
    Engine,
    Launch,
    Offers,
    Policy,
    RetryAgent,
    RetryPolicy,
    Revive,
    SkipAgent,
)
from tests.engine.kit import Driver, launch_step, make_plan, of_type, offer, refuse_seconds

AGENTS = ("a1", "a2", "a3", "a4")


def _ready_for_docker(k: int, **policy) -> Driver:
    driver = Driver(policy=Policy(max_concurrent_restarts=k, **policy), agents=AGENTS)
    for agent_id in AGENTS:
        driver.succeed(driver.launch(agent_id))  # etcd-proxy
    return driver


@pytest.mark.parametrize("k", [1, 2])
def test_at_most_k_agents_enter_disruptive_steps(k):
    driver = _ready_for_docker(k)
    launched = [a for a in AGENTS if driver.launch(a) is not None]
    assert launched == list(AGENTS[:k])
    assert driver.engine.restart_slot_holders() == set(AGENTS[:k])
    waiting = AGENTS[k]
    assert refuse_seconds(driver.offer(waiting)) == [Policy().refuse_wait_s]  # next in line
    holders = ", ".join(f"{a}.example" for a in AGENTS[:k])
    assert driver.reason(waiting) == (
        f"waiting for a restart slot for docker: held by {holders} (max_concurrent_restarts={k})"
    )


def test_a_slot_is_held_from_docker_through_its_finish_and_then_passed_on():
    driver = _ready_for_docker(1)
    docker = driver.launch("a1")
    assert driver.launch("a2") is None
    driver.status(docker.task_id, "TASK_RUNNING")
    assert driver.launch("a2") is None
    driver.succeed(docker)
    assert driver.engine.restart_slot_holders() == set()
    assert driver.launch("a2").step == "docker"
    assert driver.launch("a1") is None  # a1's cni waits for a2's docker
    assert driver.reason("a1").startswith("waiting for a restart slot for cni: held by a2")


def test_a_freed_slot_goes_to_the_next_agent_in_line_without_a_revive():
    """Every REVIVE clears all filters on a real master (every agent is offered again):
    the next agent in line is declined briefly instead, and takes the slot on its next
    offer."""
    driver = _ready_for_docker(1)
    docker = driver.launch("a1")
    assert driver.launch("a2") is None  # its live run found a restart needed: queued
    assert refuse_seconds(driver.offer("a2")) == [Policy().refuse_wait_s]
    driver.status(docker.task_id, "TASK_RUNNING")
    assert of_type(driver.succeed(docker), Revive) == []
    assert driver.launch("a2", advance=Policy().refuse_wait_s).step == "docker"


@pytest.mark.parametrize(
    ("message", "reason", "state"),
    [
        ("Command exited with exit status 75", None, "TASK_FAILED"),
        ("Command exited with status 75", None, "TASK_FAILED"),
        (None, None, "TASK_KILLED"),
        (None, None, "TASK_LOST"),
        (None, "REASON_AGENT_RESTARTED", "TASK_FAILED"),
        (None, "REASON_AGENT_DISCONNECTED", "TASK_FAILED"),
    ],
)
def test_run_again_outcomes_keep_the_slot_and_cost_no_attempt(message, reason, state):
    driver = _ready_for_docker(1)
    first = launch_step(driver, "a1", "cni") if state != "TASK_FAILED" else driver.launch("a1")
    driver.status(first.task_id, state, message=message, reason=reason)
    assert driver.engine.restart_slot_holders() == {"a1"}
    assert driver.launch("a2") is None
    assert driver.reason("a1") == f"waiting for a restart to finish before {first.step} runs again"
    again = driver.launch("a1")
    assert (again.step, driver.engine.agents["a1"].step(first.step).attempts) == (first.step, 3)
    assert driver.engine.agents["a1"].step(first.step).failures == 0
    driver.succeed(again)
    assert driver.engine.restart_slot_holders() == set()


def test_a_failed_agent_keeps_its_slot_until_an_operator_retries_it():
    driver = _ready_for_docker(1, retry=RetryPolicy(max_attempts=1), max_failed=5)
    docker = driver.launch("a1")
    driver.status(docker.task_id, "TASK_FAILED", message="docker did not come back")
    assert driver.state("a1") == "failed"
    assert driver.engine.restart_slot_holders() == {"a1"}
    assert driver.launch("a2") is None
    driver.send(RetryAgent("a1", "alice", "fixed docker by hand"))
    assert driver.engine.restart_slot_holders() == set()
    assert driver.launch("a2").step == "docker"


def test_a_config_change_does_not_free_the_slot_of_a_failed_agent():
    driver = _ready_for_docker(1, retry=RetryPolicy(max_attempts=1), max_failed=5)
    driver.status(driver.launch("a1").task_id, "TASK_FAILED", message="docker did not come back")
    records = list(driver.engine.agents.values())
    changed = Engine(make_plan(version="v2"), driver.engine.policy, records)
    assert changed.restart_slot_holders() == {"a1"}


def test_skipping_an_agent_releases_its_slot():
    driver = _ready_for_docker(1, retry=RetryPolicy(max_attempts=1), max_failed=5)
    driver.status(driver.launch("a1").task_id, "TASK_FAILED", message="no")
    driver.send(SkipAgent("a1", "bob", "decommissioning"))
    assert driver.state("a1") == "complete"
    assert driver.launch("a2").step == "docker"


def test_an_unreachable_agent_holds_its_slot_and_a_removed_one_does_not():
    driver = _ready_for_docker(1)
    driver.launch("a1")
    driver.send(AgentUnreachable("a1"))
    assert driver.launch("a2") is None
    assert driver.reason("a1").startswith("agent unreachable since ")
    driver.send(AgentRemoved("a1"))
    assert driver.state("a1") == "gone"
    assert driver.launch("a2").step == "docker"


def test_a_live_disruptive_task_of_an_old_config_keeps_its_slot():
    driver = _ready_for_docker(1)
    old = driver.launch("a1")
    plan = make_plan(docker="docker-v2")
    engine = Engine(plan, Policy(), driver.engine.agents.values())
    assert engine.restart_slot_holders() == {"a1"}
    driver.engine, driver.plan = engine, plan
    assert driver.launch("a2") is None
    assert driver.reason("a1") == (
        "waiting for the docker task of the previous configuration to finish"
    )
    driver.succeed(old)
    relaunch = driver.launch("a1")
    assert (relaunch.step, relaunch.target_hash) == ("docker", "docker-v2")


def test_non_disruptive_steps_run_in_parallel_up_to_their_cap():
    driver = Driver(policy=Policy(max_parallel=2), agents=AGENTS)
    launched = [a for a in AGENTS if driver.launch(a) is not None]
    assert launched == ["a1", "a2"]
    assert driver.reason("a3") == (
        "waiting for a free slot for etcd-proxy: 2 agents are starting non-disruptive steps "
        "(max_parallel=2)"
    )
    first = of_type(driver.offer("a1"), Launch)
    assert first == []  # a1's etcd-proxy is still staging
    driver.status(driver.engine.agents["a1"].step("etcd-proxy").task_id, "TASK_RUNNING")
    assert driver.launch("a3").step == "etcd-proxy"


def test_one_offers_batch_from_two_agents_with_k_1_gives_one_disruptive_launch():
    """Both agents need a restart for docker and offer in the same batch: the slot the
    first takes is counted before the second is decided."""
    driver = Driver(policy=Policy(max_concurrent_restarts=1), agents=("a1", "a2"))
    for agent_id in ("a1", "a2"):
        driver.succeed(driver.launch(agent_id))  # etcd-proxy
    both = (offer("a1", hostname="a1.example"), offer("a2", hostname="a2.example"))
    live = of_type(driver.send(Offers(both)), Launch)
    assert [(run.step, run.allow_restart) for run in live] == [("docker", False)] * 2
    for run in live:
        driver.status(run.task_id, "TASK_FAILED", message="Command exited with status 76")
    decision = driver.send(Offers(both), advance=Policy().refuse_wait_s)
    (launch,) = of_type(decision, Launch)
    assert (launch.step, launch.allow_restart) == ("docker", True)
    assert driver.engine.restart_slot_holders() == {launch.agent_id}
    waiting = "a2" if launch.agent_id == "a1" else "a1"
    assert len(refuse_seconds(decision)) == 1  # the waiting agent's offer, until its turn
    assert driver.reason(waiting).startswith("waiting for a restart slot for docker")


def test_a_rolled_back_batch_leaves_no_agent_counted_as_declined_for_long():
    """An agent queued for the slot in a batch whose records were not stored got its
    offer back briefly from the scheduler, not for long: freeing the slot revives nobody."""
    driver = Driver(policy=Policy(max_concurrent_restarts=1), agents=("a1", "a2", "a3"))
    for agent_id in ("a1", "a2"):
        driver.succeed(driver.launch(agent_id))  # etcd-proxy
    docker = driver.launch("a1")
    assert driver.launch("a2") is None  # its live docker run needs a restart: queued
    batch = driver.send(Offers((offer("a2", hostname="a2.example"),
                                offer("a3", hostname="a3.example"))))
    assert [a.step for a in of_type(batch, Launch)] == ["etcd-proxy"]  # a3's; a2 queued
    driver.engine.rollback(batch)
    assert of_type(driver.succeed(docker), Revive) == []
