"""Operator control: pause and resume, per-agent retry and skip, with who, when and why."""

from __future__ import annotations

import pytest

from framework.engine import (
    Kill,
    OperatorNote,
    Pause,
    Policy,
    Resume,
    RetryAgent,
    RetryPolicy,
    Revive,
    RolloutControl,
    SkipAgent,
    Suppress,
    UnknownAgentError,
)
from tests.engine.kit import Driver, launch_step, of_type


def test_pause_is_recorded_with_who_when_and_why_and_is_idempotent():
    driver = Driver(agents=("a1",))
    decision = driver.send(Pause("alice", "change freeze"), advance=5)
    assert decision.control == RolloutControl(True, "alice", driver.now, "change freeze")
    assert driver.engine.control == decision.control
    assert Suppress() in decision.actions
    again = driver.send(Pause("bob", "me too"))
    assert (again.control, again.actions) == (None, ())
    assert driver.engine.control.by == "alice"


def test_a_paused_rollout_starts_no_step_and_says_why():
    driver = Driver(agents=("a1",))
    driver.send(Pause("alice", "change freeze"))
    assert driver.launch("a1") is None
    assert driver.reason("a1").startswith("rollout paused by alice at ")
    assert driver.reason("a1").endswith(": change freeze")
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert (rollout["state"], rollout["control"]["why"]) == ("paused", "change freeze")
    resumed = driver.send(Resume("bob", "freeze over"))
    assert resumed.control == RolloutControl(False, "bob", driver.now, "freeze over")
    assert Revive() in resumed.actions
    assert driver.launch("a1").step == "etcd-proxy"
    assert driver.send(Resume("bob", "again")).control is None


def test_pausing_lets_running_tasks_finish_and_keeps_long_running_tasks_alive():
    driver = Driver(agents=("a1",))
    docker = launch_step(driver, "a1", "docker")
    driver.send(Pause("alice", "look at docker"))
    driver.succeed(docker)
    assert driver.launch("a1") is None  # cni waits
    proxy = driver.engine.agents["a1"].step("etcd-proxy").task_id
    decision = driver.status(proxy, "TASK_FAILED", message="proxy crashed")
    assert Revive() in decision.actions
    driver.now += 60
    relaunch = driver.launch("a1")
    assert relaunch.step == "etcd-proxy"
    driver.succeed(relaunch)
    assert driver.launch("a1") is None
    assert driver.engine.suppressed


def test_retry_gives_fresh_attempts_and_records_the_operator():
    driver = Driver(agents=("a1",), policy=Policy(retry=RetryPolicy(max_attempts=1), max_failed=1))
    docker = launch_step(driver, "a1", "docker")
    driver.status(docker.task_id, "TASK_FAILED", message="daemon.json rejected")
    assert driver.state("a1") == "failed"
    decision = driver.send(RetryAgent("a1", "alice", "fixed the disk"), advance=3)
    assert decision.records[0].note == OperatorNote("retry", "alice", driver.now, "fixed the disk")
    assert driver.state("a1") == "pending"
    again = driver.launch("a1")
    assert again.step == "docker"
    assert driver.engine.agents["a1"].step("docker").attempts == 1


def test_retrying_an_agent_with_a_live_task_kills_it_and_waits_for_its_end():
    driver = Driver(agents=("a1",))
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_RUNNING", healthy=False)
    decision = driver.send(RetryAgent("a1", "alice", "stuck unhealthy"))
    assert of_type(decision, Kill) == [Kill(proxy.task_id, "a1")]
    assert driver.launch("a1") is None
    driver.status(proxy.task_id, "TASK_KILLED")
    assert driver.launch("a1").step == "etcd-proxy"


def test_skip_marks_the_remaining_steps_skipped_and_completes_the_agent():
    driver = Driver(agents=("a1",))
    driver.succeed(driver.launch("a1"))
    decision = driver.send(SkipAgent("a1", "bob", "no docker on this host"))
    assert decision.records[0].note.action == "skip"
    assert driver.state("a1") == "complete"
    states = [s["state"] for s in driver.agent_doc("a1")["steps"]]
    assert states == ["complete", "skipped", "skipped", "skipped", "skipped"]
    assert driver.launch("a1") is None


@pytest.mark.parametrize("event", [RetryAgent("nope", "a", "b"), SkipAgent("nope", "a", "b")])
def test_operator_actions_on_unknown_agents_raise_and_change_nothing(event):
    driver = Driver(agents=("a1",))
    before = dict(driver.engine.agents)
    with pytest.raises(UnknownAgentError, match="nope"):
        driver.send(event)
    assert dict(driver.engine.agents) == before
