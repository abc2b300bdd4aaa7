"""The unmodified pymesos driver against the master emulator: calls, events, semantics."""

from __future__ import annotations

import time

import pytest

from devcluster.master import MasterOptions
from tests.devcluster.harness import command_task
from tests.wait import wait_until


def _registered(sched) -> str:
    return wait_until(lambda: sched.kinds("registered"), what="registered")[0][0]


def test_subscribe_then_offers_by_role(harness, sched):
    private = harness.add_agent()
    public = harness.add_agent(public=True)
    harness.driver(sched)
    framework_id = _registered(sched)
    offer = sched.take_offer(private.id)
    assert offer["allocation_info"] == {"role": "*"}
    assert offer["hostname"] == private.spec.hostname
    assert {r["name"] for r in offer["resources"]} >= {"cpus", "mem", "disk", "ports"}
    assert all(r["allocation_info"] == {"role": "*"} for r in offer["resources"])
    public_offer = sched.take_offer(public.id)
    assert public_offer["allocation_info"] == {"role": "slave_public"}
    assert all(r["role"] == "slave_public" for r in public_offer["resources"])
    assert public_offer["attributes"][0]["name"] == "public_ip"
    state = harness.get_json("/master/state")
    assert [f["id"] for f in state["frameworks"]] == [framework_id]
    assert state["frameworks"][0]["offers"]


def test_public_agent_offered_only_to_slave_public_role(harness, sched):
    harness.add_agent(public=True)
    private = harness.add_agent()
    harness.driver(sched, roles=("*",))
    _registered(sched)
    sched.take_offer(private.id)
    harness.master.allocate()
    assert all(o["agent_id"]["value"] == private.id for o in sched.offers)


@pytest.mark.parametrize("version", ["1.4", "1.8"])
def test_task_lifecycle_environment_and_sandbox(make_harness, sched, version):
    """launcher/executor.cpp `CommandExecutor::launch`: TASK_STARTING only from 1.8.x."""
    harness = make_harness(version)
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = _registered(sched)
    offer = sched.take_offer(agent.id)
    task = command_task(offer, "t1", 'echo "$MESOS_TASK_ID $MESOS_FRAMEWORK_ID $HOST $GREETING"',
                        env={"GREETING": "hello"})
    driver.launchTasks(offer["id"], [task])
    finished = sched.wait_state("t1", "TASK_FINISHED")
    assert sched.states("t1") == (["TASK_STARTING"] if version == "1.8" else []) + [
        "TASK_RUNNING", "TASK_FINISHED"]
    assert finished["agent_id"]["value"] == agent.id and "uuid" in finished
    stdout = (agent.spec.work_dir / "sandboxes" / framework_id / "t1" / "stdout").read_text()
    assert stdout.split() == ["t1", framework_id, agent.spec.hostname, "hello"]


def test_failed_task_reports_exit_status(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-fail", "exit 75")])
    failed = sched.wait_state("t-fail", "TASK_FAILED")
    assert failed["message"] == "Command exited with status 75"


def test_kill_sends_killing_then_killed_and_frees_resources(harness, sched):
    agent = harness.add_agent(cpus=1.0)
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-long", "sleep 600", cpus=1.0)],
                       filters={"refuse_seconds": 0})
    sched.wait_state("t-long", "TASK_RUNNING")
    driver.killTask({"value": "t-long"})
    killed = sched.wait_state("t-long", "TASK_KILLED")
    assert sched.states("t-long")[-2:] == ["TASK_KILLING", "TASK_KILLED"]
    assert "Terminated" in killed["message"]
    assert sched.take_offer(agent.id)["resources"][0]["scalar"]["value"] == 1.0


def test_kill_unknown_task_reconciles(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    driver.killTask({"value": "nope"})
    update = sched.wait_state("nope", "TASK_UNKNOWN")
    assert update["reason"] == "REASON_RECONCILIATION"
    assert agent.id


def test_decline_filter_then_revive(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.declineOffer(offer["id"], filters={"refuse_seconds": 3600})
    wait_until(lambda: harness.master.agents[agent.id].free["*"].scalars.get("cpus") == 4.0)
    harness.master.allocate()
    harness.master.allocate()
    assert sched.offers == []
    driver.reviveOffers()
    assert sched.take_offer(agent.id)


def test_short_decline_filter_expires(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    driver.declineOffer(sched.take_offer(agent.id)["id"], filters={"refuse_seconds": 0.5})
    assert sched.take_offer(agent.id)


def test_suppress_stops_offers_until_revive(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.suppressOffers()
    driver.declineOffer(offer["id"], filters={"refuse_seconds": 0})
    wait_until(lambda: not harness.master.offers, what="offer recovered")
    for _ in range(3):
        harness.master.allocate()
    assert sched.offers == []
    driver.reviveOffers()
    assert sched.take_offer(agent.id)


def test_rescinded_offer_drops_tasks(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    harness.master.rescind(offer["id"]["value"])
    wait_until(lambda: sched.kinds("rescinded"), what="rescind")
    driver.launchTasks(offer["id"], [command_task(offer, "t-stale", "true")])
    dropped = sched.wait_state("t-stale", "TASK_DROPPED")
    assert dropped["reason"] == "REASON_INVALID_OFFERS"
    assert dropped["source"] == "SOURCE_MASTER"


def test_task_asking_more_than_offered_is_an_error(harness, sched):
    agent = harness.add_agent(cpus=1.0)
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-big", "true", cpus=2.0)])
    error = sched.wait_state("t-big", "TASK_ERROR")
    assert error["reason"] == "REASON_TASK_INVALID"


def test_explicit_and_implicit_reconciliation(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-run", "sleep 600")])
    sched.wait_state("t-run", "TASK_RUNNING")
    before = len(sched.updates)
    driver.reconcileTasks([{"task_id": {"value": "t-run"}}, {"task_id": {"value": "ghost"}}])
    driver.reconcileTasks([])
    wait_until(lambda: len(sched.updates) >= before + 3, what="reconciliation updates")
    recon = sched.updates[before:]
    assert all(u["reason"] == "REASON_RECONCILIATION" and "uuid" not in u for u in recon)
    assert [(u["task_id"]["value"], u["state"]) for u in recon] == [
        ("t-run", "TASK_RUNNING"), ("ghost", "TASK_UNKNOWN"), ("t-run", "TASK_RUNNING")]


def test_unacknowledged_updates_are_retried_until_acknowledged(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, implicit_acks=False)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-ack", "true")])
    wait_until(lambda: len(sched.states("t-ack")) >= 2, what="a retried update")
    first, second = [u for u in sched.updates if u["task_id"]["value"] == "t-ack"][:2]
    assert first["state"] == second["state"] == "TASK_STARTING"
    assert first["uuid"] == second["uuid"]
    driver.acknowledgeStatusUpdate(first)
    sched.wait_state("t-ack", "TASK_RUNNING")


def test_failed_invalid_ack_uuid_is_rejected(harness, sched):
    harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    with pytest.raises(RuntimeError, match="400"):
        driver.acknowledgeStatusUpdate({"agent_id": {"value": "a"}, "task_id": {"value": "t"},
                                        "uuid": "not-base64!"})


def test_message_and_request_are_accepted(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    driver.sendFrameworkMessage({"value": "e"}, {"value": agent.id}, "aGVsbG8=")
    driver.requestResources([{"agent_id": {"value": agent.id}}])
    assert not sched.kinds("error")


def test_accept_without_filters_refuses_the_leftover_for_five_seconds(harness, sched):
    """`Filters.refuse_seconds` defaults to 5; the leftover of an ACCEPT is refused for that
    long, per (allocation role, agent), and only offers it contains are blocked
    (hierarchical.cpp `recoverResources`, `RefusedOfferFilter::filter`)."""
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = _registered(sched)
    offer = sched.take_offer(agent.id)
    before = time.time()
    driver.launchTasks(offer["id"], [command_task(offer, "t-1", "exec sleep 600")])
    sched.wait_state("t-1", "TASK_RUNNING")
    (refused,) = harness.master.frameworks[framework_id].filters[("*", agent.id)]
    assert before + 5.0 <= refused.expires <= time.time() + 5.0
    harness.master.allocate()
    assert sched.offers == []
    driver.killTask({"value": "t-1"})
    sched.wait_state("t-1", "TASK_KILLED")
    # More than was refused is free now: offered at once, though the filter still holds.
    assert sched.take_offer(agent.id)["allocation_info"] == {"role": "slave_public"}
    assert time.time() < refused.expires


@pytest.mark.parametrize("version", ["1.4", "1.8"])
def test_revive_clears_filters(make_harness, sched, version):
    """hierarchical.cpp `reviveOffers`: 1.4.3 clears every filter whatever roles a REVIVE
    names; 1.8.x (5e1f25c8, MESOS-9856) only those of the roles named (all when none)."""
    harness = make_harness(version)
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    for role in ("*", "slave_public"):
        offer = sched.take_offer(agent.id, role=role)
        driver.declineOffer(offer["id"], filters={"refuse_seconds": 3600})
    harness.master.allocate()
    assert sched.offers == []
    driver.reviveOffers(["slave_public"])
    # Both roles' shares are nil: "*" comes first by name unless still filtered.
    revived = sched.take_offer(agent.id)
    expected = "*" if version == "1.4" else "slave_public"
    assert revived["allocation_info"] == {"role": expected}


@pytest.mark.parametrize("roles", [["not-mine"], ["*", "not-mine"], ["/bad"]])
def test_revive_or_suppress_naming_a_role_not_subscribed_is_dropped(harness, sched, roles):
    """`Master::revive`/`Master::suppress` drop the whole call when one role is invalid
    or not one of the framework's."""
    harness.add_agent()
    driver = harness.driver(sched)
    framework = harness.master.frameworks[_registered(sched)]
    driver.suppressOffers(roles)
    assert framework.suppressed_roles == set()
    driver.suppressOffers(["*"])
    assert framework.suppressed_roles == {"*"}
    driver.reviveOffers(roles)
    assert framework.suppressed_roles == {"*"}
    driver.reviveOffers()
    assert framework.suppressed_roles == set()


def test_filters_are_cleared_when_the_framework_disconnects(harness, sched):
    """hierarchical.cpp `deactivateFramework`: `framework.offerFilters.clear()`."""
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = _registered(sched)
    for role in ("*", "slave_public"):
        driver.declineOffer(sched.take_offer(agent.id, role=role)["id"],
                            filters={"refuse_seconds": 3600})
    assert harness.master.frameworks[framework_id].filters
    harness.master.drop_stream(framework_id)
    wait_until(lambda: sched.kinds("reregistered"), what="reregistered")
    assert sched.take_offer(agent.id)


def test_private_agents_are_offered_under_either_subscribed_role(harness, sched):
    """Unreserved resources go to the role with the smaller DRF share, so a framework in
    `*` and `slave_public` gets private agents under both; public agents' resources,
    reserved to slave_public, only under that role."""
    agents = [harness.add_agent() for _ in range(4)]
    public = harness.add_agent(public=True)
    harness.driver(sched)
    _registered(sched)
    roles = {a.id: sched.take_offer(a.id)["allocation_info"]["role"] for a in agents}
    assert set(roles.values()) == {"*", "slave_public"}
    public_offer = sched.take_offer(public.id)
    assert public_offer["allocation_info"] == {"role": "slave_public"}
    private_public = next(a for a, role in roles.items() if role == "slave_public")
    assert private_public != public.id


def test_suppressing_one_role_offers_unreserved_resources_to_the_other(harness, sched):
    private = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(private.id)
    assert offer["allocation_info"] == {"role": "*"}
    driver.suppressOffers(["*"])
    driver.declineOffer(offer["id"], filters={"refuse_seconds": 0})
    again = sched.take_offer(private.id)
    assert again["allocation_info"] == {"role": "slave_public"}
    assert all(r["allocation_info"] == {"role": "slave_public"} and r["role"] == "*"
               for r in again["resources"])


def test_two_frameworks_share_the_agents(harness):
    from tests.devcluster.harness import RecordingScheduler

    first, second = RecordingScheduler(), RecordingScheduler()
    harness.driver(first)
    _registered(first)
    harness.driver(second)
    _registered(second)
    for _ in range(6):
        harness.add_agent()
    wait_until(lambda: len(first.offers) + len(second.offers) == 6, what="all agents offered")
    assert first.offers and second.offers


@pytest.mark.parametrize("task_id", ["../escape", "a/b", "with space", ".", ""])
def test_invalid_task_ids_are_task_errors(harness, sched, task_id):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, task_id, "true")])
    error = sched.wait_state(task_id, "TASK_ERROR")
    assert error["reason"] == "REASON_TASK_INVALID"
    assert not (agent.spec.work_dir / "escape").exists()


def test_command_that_cannot_be_spawned_fails_the_task(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-nul", "echo a\x00b")])
    failed = sched.wait_state("t-nul", "TASK_FAILED")
    assert failed["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert sched.states("t-nul") == ["TASK_FAILED"]


def test_command_without_shell_runs_the_executable_with_arguments(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = _registered(sched)
    offer = sched.take_offer(agent.id)
    task = command_task(offer, "t-argv", "")
    task["command"] = {"shell": False, "value": "/bin/echo",
                       "arguments": ["echo", "two words", "$HOST"]}
    driver.launchTasks(offer["id"], [task])
    sched.wait_state("t-argv", "TASK_FINISHED")
    stdout = agent.spec.work_dir / "sandboxes" / framework_id / "t-argv" / "stdout"
    assert stdout.read_text() == "two words $HOST\n"


def test_update_retries_back_off_exponentially(harness, sched):
    agent = harness.add_agent()
    driver = harness.driver(sched, implicit_acks=False)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, "t-backoff", "true")])
    wait_until(lambda: len(sched.states("t-backoff")) >= 3, what="two retries")
    with sched.lock:
        times = [t for u, t in zip(sched.updates, sched.update_times, strict=True)
                 if u["task_id"]["value"] == "t-backoff"][:3]
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    retry_s = harness.options.status_retry_s
    assert first_gap >= retry_s * 0.9
    assert second_gap >= 2 * retry_s * 0.9


def test_offers_held_past_the_offer_timeout_are_rescinded(tmp_path, sched):
    from tests.devcluster.harness import FAST, MasterHarness

    options = MasterOptions(**{**FAST.__dict__, "offer_timeout_s": 0.3})
    harness = MasterHarness(tmp_path, options)
    try:
        agent = harness.add_agent()
        harness.driver(sched)
        _registered(sched)
        first = sched.take_offer(agent.id)
        wait_until(lambda: first["id"]["value"] in sched.kinds("rescinded"),
                 what="the held offer rescinded after the timeout")
        assert sched.take_offer(agent.id)["id"] != first["id"]
    finally:
        harness.close()


def test_task_resources_must_carry_the_offers_allocation_role(harness, sched):
    """validation.cpp: the offered resources carry `allocation_info`, so task resources
    allocated to another role are not among them: TASK_ERROR."""
    agent = harness.add_agent()
    driver = harness.driver(sched)
    _registered(sched)
    offer = sched.take_offer(agent.id)
    other = "slave_public" if offer["allocation_info"]["role"] == "*" else "*"
    driver.launchTasks(offer["id"], [command_task(offer, "t-role", "true", role=other)])
    error = sched.wait_state("t-role", "TASK_ERROR")
    assert error["reason"] == "REASON_TASK_INVALID"
    assert error["message"].startswith("Total resources")
    assert "required by task and its executor is more than available" in error["message"]
