"""Step lifecycles: retries with backoff, failure and halting, long-running relaunches,
config changes re-running steps."""

from __future__ import annotations

import pytest

from framework.engine import (
    Engine,
    Kill,
    Launch,
    Policy,
    RetryAgent,
    RetryPolicy,
    Revive,
    Suppress,
)
from tests.engine.kit import Driver, launch_step, make_plan, of_type, refuse_seconds

RETRY = RetryPolicy(max_attempts=3, backoff_base_s=10.0, backoff_cap_s=15.0, max_reruns=2)


def _driver(**policy) -> Driver:
    return Driver(policy=Policy(retry=RETRY, **policy), agents=("a1", "a2"))


def test_failures_back_off_exponentially_with_a_cap_then_fail_the_agent():
    driver = _driver(max_failed=1)
    docker = launch_step(driver, "a1", "docker")
    expected_backoffs = [10.0, 15.0]
    for attempt, backoff in enumerate(expected_backoffs, start=1):
        driver.status(docker.task_id, "TASK_FAILED", message=f"boom {attempt}")
        record = driver.engine.agents["a1"].step("docker")
        assert (record.failures, record.backoff_until) == (attempt, driver.now + backoff)
        assert driver.agent_doc("a1")["steps"][1]["state"] == "backoff"
        assert driver.reason("a1").startswith(f"docker failed (boom {attempt}); backing off until")
        assert refuse_seconds(driver.offer("a1")) == [backoff]
        driver.now += backoff
        docker = driver.launch("a1")
        assert docker.step == "docker"
    driver.status(docker.task_id, "TASK_FAILED", message="docker never came back")
    assert driver.state("a1") == "failed"
    assert driver.reason("a1") == (
        "docker failed after 3 attempt(s): docker never came back; retry or skip this agent"
    )
    assert refuse_seconds(driver.offer("a1")) == [Policy().refuse_idle_s]
    assert driver.engine.status_document(driver.now)["rollout"]["state"] == "in_progress"


def test_past_the_failure_budget_the_rollout_halts_and_starts_nothing_new():
    driver = Driver(
        policy=Policy(retry=RetryPolicy(max_attempts=1), max_concurrent_restarts=2),
        agents=("a1", "a2", "a3"),
    )
    docker = launch_step(driver, "a1", "docker")
    driver.succeed(driver.launch("a2"))  # a2's etcd-proxy
    decision = driver.status(docker.task_id, "TASK_FAILED", message="docker never came back")
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert rollout["state"] == "halted"
    assert rollout["reason"].startswith("rollout halted: 1 failed agent(s) (a1.example)")
    assert rollout["failure_budget"] == {"max_failed": 0, "failed": 1}
    assert Suppress() in decision.actions
    assert driver.launch("a2") is None
    assert driver.reason("a2") == "rollout halted: more than 0 agent(s) failed"
    assert driver.engine.suppressed
    retry = driver.send(RetryAgent("a1", "alice", "replaced the disk"))
    assert [type(a).__name__ for a in retry.actions] == ["Revive"]
    assert driver.launch("a2").step == "docker"


def test_reruns_are_bounded_and_then_count_as_failures():
    driver = _driver()
    task = launch_step(driver, "a1", "docker")
    for _ in range(RETRY.max_reruns):
        driver.status(task.task_id, "TASK_FAILED", message="exit status 75")
        task = driver.launch("a1")
    driver.status(task.task_id, "TASK_FAILED", message="exit status 75")
    record = driver.engine.agents["a1"].step("docker")
    assert (record.reruns, record.failures, record.attempts) == (RETRY.max_reruns, 1, 4)


@pytest.mark.parametrize("state", ["TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_FINISHED"])
def test_a_dead_long_running_task_is_relaunched_after_a_backoff(state):
    driver = _driver()
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_RUNNING")
    assert driver.agent_doc("a1")["steps"][0]["state"] == "complete"
    driver.status(proxy.task_id, state, message="proxy crashed")
    assert driver.state("a1") == "in_progress"
    assert driver.launch("a1") is None
    driver.now += 10.0
    relaunch = driver.launch("a1")
    assert (relaunch.step, relaunch.target_hash) == ("etcd-proxy", proxy.target_hash)
    assert relaunch.task_id != proxy.task_id


def test_a_long_running_task_that_ran_stably_starts_its_failure_count_afresh():
    driver = _driver()
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_FAILED")
    driver.now += 10.0
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_RUNNING")
    driver.now += RETRY.stable_after_s
    driver.status(proxy.task_id, "TASK_FAILED")
    assert driver.engine.agents["a1"].step("etcd-proxy").failures == 1


def test_an_unhealthy_long_running_task_is_not_complete():
    driver = _driver()
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_RUNNING", healthy=False)
    assert driver.agent_doc("a1")["steps"][0]["state"] == "running"
    assert driver.launch("a1") is None
    driver.status(proxy.task_id, "TASK_RUNNING", healthy=True)
    assert driver.launch("a1").step == "docker"


def _converged(plan=None) -> Driver:
    driver = Driver(plan=plan, policy=Policy(retry=RETRY), agents=("a1", "a2"))
    for agent_id in ("a1", "a2"):
        driver.complete_agent(agent_id)
    return driver


def test_a_converged_task_turning_unhealthy_brings_no_offers_until_it_ends():
    """Health checks flap under load: each flap of a done calico-node must not REVIVE every
    agent's filters; the agent's offers are welcome again once the task ends."""
    driver = _converged()
    node = driver.engine.agents["a1"].step("calico-node")
    decision = driver.status(node.task_id, "TASK_RUNNING", healthy=False)
    assert of_type(decision, Revive) == []
    doc = driver.agent_doc("a1")
    assert next(s for s in doc["steps"] if s["name"] == "calico-node")["state"] == "running"
    assert refuse_seconds(driver.offer("a1")) == [driver.engine.policy.refuse_idle_s]
    driver.status(node.task_id, "TASK_RUNNING", healthy=True)
    assert driver.state("a1") == "complete"
    driver.status(node.task_id, "TASK_RUNNING", healthy=False)
    assert of_type(driver.status(node.task_id, "TASK_KILLED"), Revive) == [Revive()]
    assert driver.launch("a1", advance=60.0).step == "calico-node"  # after its backoff


def test_a_converged_agent_re_runs_nothing_after_a_scheduler_restart():
    driver = _converged()
    engine = Engine(driver.plan, driver.engine.policy, driver.engine.agents.values())
    driver.engine = engine
    assert driver.complete_agent("a1") == []
    assert engine.status_document(driver.now)["rollout"]["state"] == "complete"


def test_a_changed_one_shot_hash_re_runs_only_that_step_everywhere_rolling():
    driver = _converged()
    plan = make_plan(cni="cni-v2")
    driver.engine = Engine(plan, driver.engine.policy, driver.engine.agents.values())
    assert driver.state("a1") == "pending"
    first = driver.launch("a1")
    assert (first.step, first.target_hash) == ("cni", "cni-v2")
    assert driver.launch("a2") is None
    driver.succeed(first)
    assert driver.complete_agent("a1") == []
    assert [launch.step for launch in driver.complete_agent("a2")] == ["cni"]


def test_a_changed_long_running_hash_kills_then_relaunches():
    driver = _converged()
    old_task = driver.engine.agents["a1"].step("calico-node").task_id
    plan = make_plan(calico_node="node-v2")
    driver.engine = Engine(plan, driver.engine.policy, driver.engine.agents.values())
    decision = driver.offer("a1")
    assert of_type(decision, Kill) == [Kill(old_task, "a1")]
    assert of_type(decision, Launch) == []
    assert driver.reason("a1") == (
        "waiting for the old calico-node task to stop before starting it again"
    )
    again = driver.offer("a1")  # a kill may be lost, so it is repeated; nothing launches
    assert (of_type(again, Kill), of_type(again, Launch)) == ([Kill(old_task, "a1")], [])
    driver.status(old_task, "TASK_KILLED")
    record = driver.engine.agents["a1"].step("calico-node")
    assert record.failures == 0 and record.backoff_until is None
    relaunch = driver.launch("a1")
    assert (relaunch.step, relaunch.target_hash) == ("calico-node", "node-v2")


def test_a_disabled_step_is_neither_run_nor_shown():
    plan = make_plan(steps=("etcd-proxy", "calico-node"))
    driver = Driver(plan=plan, agents=("a1",))
    assert [launch.step for launch in driver.complete_agent("a1")] == ["etcd-proxy", "calico-node"]
    assert [s["name"] for s in driver.agent_doc("a1")["steps"]] == ["etcd-proxy", "calico-node"]
