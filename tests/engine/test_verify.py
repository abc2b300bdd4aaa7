"""The verify step: an agent is complete once its network is verified; a failed verification
marks that agent failed without halting the others; a retry verifies again, nothing else."""

from __future__ import annotations

from framework.engine import Engine, Launch, Policy, RetryAgent, RetryPolicy
from tests.engine.kit import Driver, launch_step, make_plan, of_type

ONE_TRY = Policy(retry=RetryPolicy(max_attempts=1), max_failed=0)


def test_the_address_mesos_reports_is_the_agents_verified_network():
    driver = Driver(agents=("a1",))
    verify = launch_step(driver, "a1", "verify")
    assert not verify.allow_restart
    assert driver.state("a1") == "in_progress"
    driver.status(verify.task_id, "TASK_RUNNING", address="192.168.7.9")
    assert driver.agent_doc("a1")["network"]["state"] == "verifying"
    driver.status(verify.task_id, "TASK_FINISHED", advance=2.0)
    assert driver.state("a1") == "complete"
    assert driver.agent_doc("a1")["network"] == {
        "state": "verified", "ip": "192.168.7.9", "at": driver.now, "error": None}


def test_a_failed_verification_fails_its_agent_without_halting_the_rollout():
    driver = Driver(agents=("a1", "a2"), policy=ONE_TRY)
    verify = launch_step(driver, "a1", "verify")
    driver.status(verify.task_id, "TASK_FAILED",
                  message="The CNI plugin '/opt/cni/calico' failed to attach container c1 "
                          "to CNI network 'calico': stdout='{\"msg\": \"pool\"}'\nmore")
    assert driver.state("a1") == "failed"
    doc = driver.engine.status_document(driver.now)
    assert doc["rollout"]["state"] == "in_progress"  # one failure would halt at max_failed=0
    assert doc["rollout"]["failure_budget"]["failed"] == 0
    network = doc["agents"][0]["network"]
    assert network["state"] == "failed"
    assert network["error"].startswith("The CNI plugin '/opt/cni/calico' failed to attach")
    assert "\n" not in network["error"]
    assert launch_step(driver, "a2", "verify").step == "verify"  # a2 goes on


def test_a_failed_install_step_still_halts_the_rollout():
    driver = Driver(agents=("a1", "a2"), policy=ONE_TRY, needs_restart=False)
    docker = launch_step(driver, "a1", "docker")
    driver.status(docker.task_id, "TASK_FAILED", message="Command exited with status 1")
    assert driver.engine.status_document(driver.now)["rollout"]["state"] == "halted"


def test_a_retry_verifies_a_verified_agent_again_and_runs_nothing_else():
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    assert driver.state("a1") == "complete"
    driver.send(RetryAgent("a1", "alice", "check the network after a switch change"))
    assert driver.state("a1") == "pending"
    decision = driver.offer("a1")
    (launch,) = of_type(decision, Launch)
    assert (launch.step, launch.allow_restart) == ("verify", False)
    driver.status(launch.task_id, "TASK_FINISHED", address="192.168.0.4")
    assert driver.state("a1") == "complete"
    assert of_type(driver.offer("a1"), Launch) == []


def test_a_changed_config_verifies_again_after_the_changed_step():
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    plan = make_plan(docker="docker-v2", verify="verify-v2")
    driver.engine = Engine(plan, driver.engine.policy, driver.engine.agents.values())
    steps = [launch.step for launch in driver.complete_agent("a1")]
    assert steps == ["docker", "verify"]
    assert driver.agent_doc("a1")["network"]["state"] == "verified"
