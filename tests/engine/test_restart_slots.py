"""Restart slots only for restarts: disruptive steps run live first, and only a host whose
installer exits 76 ("needs a restart slot") queues for a slot and runs again holding one."""

from __future__ import annotations

from framework.engine import AgentRecord, Engine, Policy, TaskReport, TaskReported
from tests.engine.kit import Driver, launch_step, make_plan

AGENTS = ("a1", "a2", "a3", "a4")
NEEDS = "Command exited with status 76"
REASON = ("Docker runs with cluster-store etcd://10.0.0.9:2379; libnetwork does not change "
          "an existing store on reload")


def _proxies_up(driver: Driver) -> None:
    for agent_id in AGENTS:
        driver.succeed(driver.launch(agent_id))  # etcd-proxy


def test_a_fresh_install_that_takes_everything_live_uses_no_restart_slot():
    driver = Driver(policy=Policy(max_concurrent_restarts=1), agents=AGENTS,
                    needs_restart=False)
    _proxies_up(driver)
    dockers = [driver.launch(a) for a in AGENTS]
    assert [(d.step, d.allow_restart) for d in dockers] == [("docker", False)] * 4
    assert driver.engine.restart_slot_holders() == set()  # all four at once, under max_parallel
    for docker in dockers:
        driver.succeed(docker)
    for agent_id in AGENTS:
        driver.complete_agent(agent_id)
        assert driver.state(agent_id) == "complete"
    assert driver.engine.restart_slot_holders() == set()


def test_live_runs_of_disruptive_steps_count_against_max_parallel():
    driver = Driver(policy=Policy(max_concurrent_restarts=1, max_parallel=2), agents=AGENTS,
                    needs_restart=False)
    _proxies_up(driver)
    assert [driver.launch(a) is not None for a in AGENTS] == [True, True, False, False]
    assert driver.reason("a3").startswith("waiting for a free slot for docker")


def test_exit_76_queues_the_agent_for_a_slot_and_relaunches_it_with_restarts_allowed():
    driver = Driver(policy=Policy(max_concurrent_restarts=1), agents=AGENTS,
                    needs_restart=False)
    _proxies_up(driver)
    held = driver.launch("a1")
    driver.status(held.task_id, "TASK_FAILED", message=NEEDS)
    again = driver.launch("a1")
    assert (again.step, again.allow_restart) == ("docker", True)
    assert driver.engine.restart_slot_holders() == {"a1"}
    live = driver.launch("a2")
    assert live.allow_restart is False  # a live run needs no slot, even with the budget full
    driver.status(live.task_id, "TASK_FAILED", message=NEEDS)
    step = driver.engine.agents["a2"].step("docker")
    assert (step.failures, step.restart_hash, step.restart_allowed) == (0, "docker-v1", False)
    driver.send(TaskReported(live.task_id, TaskReport(
        "needs-restart", "needs a restart of docker: " + REASON)))
    assert driver.launch("a2") is None
    assert driver.reason("a2") == (
        f"waiting for a restart slot for docker ({REASON}): held by a1.example "
        "(max_concurrent_restarts=1)")
    doc = driver.agent_doc("a2")["steps"][1]
    assert (doc["needs_restart"], doc["restart_reason"]) == (True, REASON)
    driver.succeed(again)
    relaunched = driver.launch("a2")
    assert (relaunched.step, relaunched.allow_restart) == ("docker", True)
    assert driver.engine.restart_slot_holders() == {"a2"}


def test_a_run_allowed_to_restart_that_exits_76_is_a_failure():
    driver = Driver(agents=AGENTS)
    docker = launch_step(driver, "a1", "docker")  # the kit's hosts need restarts: 76, slot
    assert docker.allow_restart
    driver.status(docker.task_id, "TASK_FAILED", message=NEEDS)
    assert driver.engine.agents["a1"].step("docker").failures == 1
    assert driver.engine.restart_slot_holders() == {"a1"}  # strict: a failed run keeps it


def test_a_config_change_runs_live_first_again():
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    record = driver.engine.agents["a1"]
    engine = Engine(make_plan(docker="docker-v2"), Policy(), [record])
    driver.engine = engine
    docker = driver.launch("a1")  # exits 76 in the kit, then relaunched with a slot
    history = engine.agents["a1"].step("docker").history
    assert docker.allow_restart and history[0].message.startswith("this host needs a restart")


def test_records_stored_before_live_runs_keep_their_slot():
    """A record without the new fields came from a scheduler whose disruptive runs always
    could restart: its unverified docker run still holds the slot."""
    stored = {"version": 1, "id": "a1", "hostname": "a1.example", "role": "private",
              "presence": "active", "presence_since": None, "note": None,
              "steps": {"docker": {"task_id": "calico-docker.a1.1", "task_hash": "docker-v1",
                                   "task_state": "TASK_FAILED", "attempts": 1,
                                   "failures": 1}}}
    record = AgentRecord.from_dict(stored)
    assert record.step("docker").restart_allowed is True
    engine = Engine(make_plan(), Policy(), [record])
    assert engine.restart_slot_holders() == {"a1"}
    assert AgentRecord.from_dict(record.to_dict()) == record


def test_the_reason_is_kept_when_the_report_comes_after_the_relaunch():
    driver = Driver(agents=("a1",), needs_restart=False)
    driver.succeed(driver.launch("a1"))
    live = driver.launch("a1")
    driver.status(live.task_id, "TASK_FAILED", message=NEEDS)
    assert driver.launch("a1").allow_restart
    driver.send(TaskReported(live.task_id, TaskReport(
        "needs-restart", "needs a restart of docker: " + REASON)))
    doc = driver.agent_doc("a1")["steps"][1]
    assert (doc["needs_restart"], doc["restart_reason"]) == (True, REASON)
