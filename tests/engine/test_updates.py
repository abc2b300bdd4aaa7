"""Status updates are idempotent and safe out of order; unknown tasks of ours are killed."""

from __future__ import annotations

import pytest

from framework.engine import Kill, TaskStatus
from tests.engine.kit import Driver, launch_step, of_type


def _proxy_launched() -> tuple[Driver, str]:
    driver = Driver(agents=("a1",))
    return driver, driver.launch("a1").task_id


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["TASK_STAGING", "TASK_RUNNING"], "TASK_RUNNING"),
        (["TASK_RUNNING", "TASK_STAGING"], "TASK_RUNNING"),
        (["TASK_RUNNING", "TASK_STARTING", "TASK_STAGING"], "TASK_RUNNING"),
        (["TASK_FAILED", "TASK_RUNNING"], "TASK_FAILED"),
        (["TASK_RUNNING", "TASK_FAILED", "TASK_STARTING"], "TASK_FAILED"),
        (["TASK_RUNNING", "TASK_UNREACHABLE", "TASK_RUNNING"], "TASK_RUNNING"),
    ],
)
def test_updates_only_move_a_task_forward(sequence, final):
    driver, task_id = _proxy_launched()
    for state in sequence:
        driver.status(task_id, state)
    assert driver.engine.agents["a1"].step("etcd-proxy").task_state == final


def test_duplicate_updates_change_nothing():
    driver, task_id = _proxy_launched()
    assert driver.status(task_id, "TASK_RUNNING").records
    assert driver.status(task_id, "TASK_RUNNING").records == ()
    driver.status(task_id, "TASK_FAILED", message="crash")
    before = driver.engine.agents["a1"]
    again = driver.status(task_id, "TASK_FAILED", message="crash")
    assert (again.records, again.actions) == ((), ())
    assert driver.engine.agents["a1"] == before
    assert before.step("etcd-proxy").failures == 1


def test_a_health_change_is_not_a_duplicate():
    driver, task_id = _proxy_launched()
    driver.status(task_id, "TASK_RUNNING", healthy=True)
    assert driver.status(task_id, "TASK_RUNNING", healthy=False).records
    assert driver.engine.agents["a1"].step("etcd-proxy").healthy is False


def test_an_update_for_an_old_task_never_changes_the_newer_record():
    driver, old = _proxy_launched()
    driver.status(old, "TASK_FAILED")
    driver.now += 60
    new = driver.launch("a1").task_id
    record = driver.engine.agents["a1"].step("etcd-proxy")
    late_terminal = driver.status(old, "TASK_FINISHED")
    assert (late_terminal.records, late_terminal.actions) == ((), ())
    late_live = driver.status(old, "TASK_RUNNING")
    assert late_live.records == ()
    assert of_type(late_live, Kill) == [Kill(old, "a1")]
    assert driver.engine.agents["a1"].step("etcd-proxy") == record
    assert record.task_id == new


@pytest.mark.parametrize(
    "task_id",
    [
        "calico-docker.unknown-agent.1-0",  # agent no record knows
        "calico-cni.a1.1-0",  # step never launched on a1
    ],
)
def test_live_tasks_no_record_knows_are_killed(task_id):
    driver, _ = _proxy_launched()
    decision = driver.status(task_id, "TASK_RUNNING")
    assert of_type(decision, Kill) == [Kill(task_id, task_id.split(".")[1])]
    assert decision.records == ()
    assert driver.status(task_id, "TASK_FINISHED").actions == ()


def test_a_disabled_step_s_running_task_is_killed():
    from tests.engine.kit import make_plan

    driver = Driver(plan=make_plan(steps=("etcd-proxy", "calico-node")), agents=("a1",))
    decision = driver.status("calico-docker.a1.5-5", "TASK_RUNNING")
    assert of_type(decision, Kill) == [Kill("calico-docker.a1.5-5", "a1")]


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (TaskStatus("marathon-app.1", "TASK_RUNNING"), "foreign task"),
        (TaskStatus("calico-docker.a1.1-0", "TASK_SLEEPING"), "unknown task state"),
        (TaskStatus("calico-docker.a1.1-0", "LAUNCHED"), "unknown task state"),
    ],
)
def test_foreign_tasks_and_unknown_states_are_ignored_with_a_notice(event, why):
    driver, _ = _proxy_launched()
    decision = driver.send(event)
    assert (decision.records, decision.actions) == ((), ())
    assert why in decision.notices[0].text


def test_a_task_reported_lost_that_turns_up_running_is_killed():
    driver, task_id = _proxy_launched()
    driver.status(task_id, "TASK_RUNNING")
    driver.status(task_id, "TASK_LOST")
    decision = driver.status(task_id, "TASK_RUNNING")
    assert of_type(decision, Kill) == [Kill(task_id, "a1")]
    assert driver.engine.agents["a1"].step("etcd-proxy").task_state == "TASK_LOST"


def test_a_finished_task_reported_running_late_is_left_alone():
    driver = Driver(agents=("a1",))
    docker = launch_step(driver, "a1", "docker")
    driver.succeed(docker)
    decision = driver.status(docker.task_id, "TASK_RUNNING")
    assert (decision.records, decision.actions) == ((), ())


@pytest.mark.parametrize("state", ["TASK_LOST", "TASK_UNKNOWN", "TASK_GONE", "TASK_DROPPED"])
def test_a_launch_that_never_started_runs_again_without_costing_an_attempt(state):
    driver, task_id = _proxy_launched()
    driver.status(task_id, state)
    record = driver.engine.agents["a1"].step("etcd-proxy")
    assert (record.failures, record.reruns, record.backoff_until) == (0, 1, None)
    assert driver.launch("a1").step == "etcd-proxy"


def test_a_launched_step_is_not_launched_again_before_its_update():
    driver, task_id = _proxy_launched()
    for _ in range(3):
        assert driver.launch("a1") is None
    assert driver.agent_doc("a1")["steps"][0] | {"updated_at": None} == {
        "name": "etcd-proxy",
        "state": "staging",
        "task_id": task_id,
        "attempts": 1,
        "message": None,
        "updated_at": None,
        "disruptive": False,
        "target_hash": "etcd-proxy-v1",
        "needs_restart": False,
        "restart_reason": None,
    }
