"""Offers: per-role resources, decline filters, suppression and revival."""

from __future__ import annotations

import pytest

from framework.engine import (
    STEP_ORDER,
    AgentInfo,
    AgentRemoved,
    AgentSeen,
    AgentsListed,
    AgentUnreachable,
    Decline,
    Launch,
    Offers,
    Policy,
    Reconcile,
    RetryPolicy,
    Revive,
    Suppress,
)
from framework.engine.lines import Line
from tests.engine.kit import Driver, launch_step, make_plan, of_type, offer, refuse_seconds

IDLE = Policy().refuse_idle_s
WAIT = Policy().refuse_wait_s


@pytest.mark.parametrize(
    ("roles", "launched_role"),
    [
        ((("*", 1.0, 1024.0),), "*"),
        ((("slave_public", 1.0, 1024.0),), "slave_public"),
        ((("*", 0.05, 1024.0), ("slave_public", 0.1, 64.0)), "slave_public"),
        ((("*", 0.1, 64.0), ("slave_public", 4.0, 4096.0)), "*"),
        ((("*", 0.05, 1024.0), ("slave_public", 0.05, 1024.0)), None),  # never summed
        ((("*", 1.0, 32.0),), None),
    ],
)
def test_resources_are_taken_from_one_role(roles, launched_role):
    driver = Driver(agents=("a1",))
    decision = driver.offer("a1", *roles)
    launches = of_type(decision, Launch)
    assert [launch.role for launch in launches] == ([launched_role] if launched_role else [])
    if launches:
        assert (launches[0].cpus, launches[0].mem) == (0.1, 64.0)
    else:
        assert refuse_seconds(decision) == [WAIT]


@pytest.mark.parametrize(
    ("roles", "reason"),
    [
        ((("*", 0.05, 1024.0),), "offer has 0.05 cpus of the 0.1 needed for etcd-proxy"),
        ((("*", 1.0, 32.0),), "offer has 32 MB mem of the 64 needed for etcd-proxy"),
        (
            (("*", 0.0, 0.0), ("slave_public", 0.05, 128.0)),
            "offer has 0.05 cpus of the 0.1 needed for etcd-proxy",
        ),
        (
            (("*", 0.01, 16.0),),
            "offer has 0.01 cpus of the 0.1 needed and 16 MB mem of the 64 needed for etcd-proxy",
        ),
    ],
)
def test_insufficient_resources_are_explained(roles, reason):
    driver = Driver(agents=("a1",))
    driver.offer("a1", *roles)
    assert driver.reason("a1") == reason
    driver.offer("a1")
    assert driver.reason("a1") is None


def test_several_offers_for_one_agent_launch_once_and_decline_the_rest():
    driver = Driver(agents=("a1",))
    offers = (offer("a1", ("*", 0.01, 16.0)), offer("a1"), offer("a1"))
    decision = driver.send(Offers(offers))
    assert [launch.offer_id for launch in of_type(decision, Launch)] == [offers[1].offer_id]
    declined = [d.offer_id for d in of_type(decision, Decline)]
    assert sorted(declined) == sorted([offers[0].offer_id, offers[2].offer_id])


@pytest.mark.parametrize(("public", "role"), [(True, "public"), (False, "private")])
def test_an_offer_from_an_unknown_agent_adds_it_with_its_role(public, role):
    """Public from the reservation, never from the allocation role: a private agent's
    unreserved resources may be allocated to slave_public too."""
    driver = Driver()
    decision = driver.send(Offers((offer("p1", ("slave_public", 2.0, 2048.0), hostname="p1.x",
                                         public=public),)))
    assert [r.agent_id for r in decision.records] == ["p1"]
    agent = driver.engine.agents["p1"]
    assert (agent.hostname, agent.role) == ("p1.x", role)
    assert of_type(decision, Launch)[0].role == "slave_public"


def test_refusals_last_until_what_brings_the_agent_s_next_offer():
    """A one-shot task's end returns its resources, and the master offers an agent whose
    free resources grew beyond the refused ones whatever the filter: a running one-shot
    task's agent is declined for `refuse_busy_s` (its update may reach us after an offer
    that holds those resources already). A long-running task keeps its resources, and a
    launch not yet confirmed may be lost: those agents are declined briefly."""
    driver = Driver(agents=("a1", "a2"))
    assert driver.reason("a1") == "no offer from this agent yet (needed to start etcd-proxy)"
    docker = launch_step(driver, "a1", "docker")
    assert docker.refuse_seconds == Policy().refuse_busy_s < IDLE
    assert refuse_seconds(driver.offer("a1")) == [WAIT]
    driver.status(docker.task_id, "TASK_RUNNING")
    assert refuse_seconds(driver.offer("a1")) == [Policy().refuse_busy_s]
    proxy = driver.launch("a2")
    assert (proxy.step, proxy.refuse_seconds) == ("etcd-proxy", WAIT)
    driver.succeed(proxy)
    assert driver.launch("a2") is None  # its live docker run found a restart needed
    assert refuse_seconds(driver.offer("a2")) == [WAIT]  # first in line for a1's slot
    driver2 = Driver(agents=("a1",))
    driver2.complete_agent("a1")
    assert refuse_seconds(driver2.offer("a1")) == [IDLE]


def _waiting_for_docker(agents: int, k: int = 1) -> Driver:
    """`agents` agents past etcd-proxy whose hosts need a restart for docker; the first k
    hold the restart slots, the others wait in line."""
    driver = Driver(policy=Policy(max_concurrent_restarts=k),
                    agents=[f"a{i}" for i in range(agents)])
    for i in range(agents):
        driver.succeed(driver.launch(f"a{i}"))
    for i in range(k):
        assert driver.launch(f"a{i}").step == "docker"
    for i in range(k, agents):
        assert driver.launch(f"a{i}") is None  # its live docker run needs a restart: queued
    return driver


def test_agents_waiting_for_a_slot_are_declined_until_about_their_turn():
    """Before a slot turned over, each turn is taken to last refuse_wait_s per slot: the
    next agent is declined briefly, the ones behind it for longer the further back."""
    driver = _waiting_for_docker(6)
    refusals = [refuse_seconds(driver.offer(f"a{i}"))[0] for i in range(1, 6)]
    assert refusals == [WAIT, 2 * WAIT, 3 * WAIT, 4 * WAIT, 5 * WAIT]


def test_the_line_moves_at_the_measured_pace():
    driver = _waiting_for_docker(4)
    for i in range(1, 4):
        driver.offer(f"a{i}")
    for holder, nxt in (("a0", "a1"), ("a1", "a2")):
        docker = driver.engine.agents[holder].step("docker").task_id
        driver.status(docker, "TASK_FINISHED", advance=20.0)
        assert driver.launch(nxt, advance=1.0).step == "docker"
    # One turn took 21 s: a3, next in line, waits about that long (half of it at a time).
    assert refuse_seconds(driver.offer("a3")) == [pytest.approx(10.5)]


def test_an_agent_between_two_disruptive_steps_goes_to_the_front_of_the_line():
    driver = _waiting_for_docker(4)
    for i in range(1, 4):
        driver.offer(f"a{i}")
    docker = driver.engine.agents["a0"].step("docker").task_id
    driver.status(docker, "TASK_FINISHED")
    assert driver.launch("a1", advance=WAIT).step == "docker"  # a1 was first in line
    assert driver.launch("a0") is None  # its live cni run needs a restart too
    assert refuse_seconds(driver.offer("a0")) == [WAIT]  # a0's cni is next, before a2's


def test_a_free_slot_revives_when_nobody_in_line_would_be_offered_soon():
    driver = _waiting_for_docker(4)
    for i in range(1, 4):
        driver.offer(f"a{i}")  # a2 and a3 declined for 10 and 15 s
    driver.send(AgentRemoved("a1"))  # the next in line is gone
    docker = driver.engine.agents["a0"].step("docker").task_id
    decision = driver.status(docker, "TASK_FINISHED")
    assert Revive() in decision.actions
    assert driver.launch("a2").step == "docker"


def test_offers_are_suppressed_when_nothing_is_left_and_revived_for_a_new_agent():
    driver = Driver(agents=("a1",))
    launches = driver.complete_agent("a1")
    assert len(launches) == len(STEP_ORDER)
    assert driver.engine.suppressed
    assert driver.send(AgentSeen(AgentInfo("a1", "a1.example"))).actions == ()
    decision = driver.send(AgentSeen(AgentInfo("a2", "a2.example")))
    assert decision.actions == (Revive(),)
    assert not driver.engine.suppressed


def test_suppression_waits_until_the_last_agent_is_done():
    driver = Driver(agents=("a1", "a2"))
    driver.complete_agent("a1")
    assert not driver.engine.suppressed
    decision_log = []
    for launch in [driver.launch("a2") for _ in range(1)]:
        decision_log.append(driver.succeed(launch))
    assert not driver.engine.suppressed
    driver.complete_agent("a2")
    assert driver.engine.suppressed


def test_an_agent_declined_for_long_is_revived_when_it_gets_work_again():
    driver = Driver(agents=("a1", "a2"), policy=Policy(max_concurrent_restarts=2))
    driver.complete_agent("a1")
    assert refuse_seconds(driver.offer("a1")) == [IDLE]
    node = driver.engine.agents["a1"].step("calico-node").task_id
    decision = driver.status(node, "TASK_FAILED", message="calico-node crashed")
    assert Revive() in decision.actions
    assert not driver.engine.suppressed


def test_no_revive_for_work_on_agents_that_were_never_declined_for_long():
    driver = Driver(agents=("a1",))
    proxy = driver.launch("a1")
    decision = driver.status(proxy.task_id, "TASK_RUNNING")
    assert Revive() not in decision.actions


def test_a_failed_agent_alone_is_suppressed_and_its_retry_revives():
    from framework.engine import RetryAgent

    driver = Driver(
        agents=("a1",), policy=Policy(retry=RetryPolicy(max_attempts=1), max_failed=3)
    )
    docker = launch_step(driver, "a1", "docker")
    decision = driver.status(docker.task_id, "TASK_FAILED", message="bad")
    assert Suppress() in decision.actions
    assert driver.send(RetryAgent("a1", "alice", "try again")).actions == (Revive(),)


@pytest.mark.parametrize("event", [AgentUnreachable("a1"), AgentRemoved("a1")])
def test_an_offer_proves_an_absent_agent_is_back(event):
    driver = Driver(agents=("a1",))
    driver.send(event)
    decision = driver.offer("a1")
    assert driver.engine.agents["a1"].presence == "active"
    assert of_type(decision, Launch)


def test_the_master_list_adds_new_agents_and_asks_about_missing_ones():
    """Missing from /master/slaves is unreachable or gone: unreachable until reconciliation
    tells, with the agent's latest task (or a probe id for an agent that ran none)."""
    driver = Driver(agents=("a1", "a2", "a3"))
    proxy = driver.launch("a3")
    decision = driver.send(AgentsListed((AgentInfo("a2", "a2.example"),
                                         AgentInfo("p1", "p1.example", "public"))))
    assert sorted(r.agent_id for r in decision.records) == ["a1", "a3", "p1"]
    assert (driver.state("a1"), driver.engine.agents["a1"].presence) == (
        "pending", "unreachable")
    assert driver.engine.agents["p1"].role == "public"
    (probe,) = of_type(decision, Reconcile)
    assert sorted(probe.tasks) == sorted([("calico-etcd-proxy.a1.probe", "a1"),
                                          (proxy.task_id, "a3")])


def test_a_renamed_agent_keeps_its_steps():
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    driver.send(AgentSeen(AgentInfo("a1", "renamed.example")))
    assert driver.engine.agents["a1"].hostname == "renamed.example"
    assert driver.state("a1") == "complete"


def test_a_plan_with_all_steps_disabled_wants_no_offers():
    driver = Driver(plan=make_plan(steps=()), agents=("a1",))
    assert driver.engine.suppressed
    assert driver.engine.status_document(driver.now)["rollout"]["state"] == "complete"


def test_an_agent_listed_as_unreachable_keeps_its_slot_and_returns_when_listed_reachable():
    driver = Driver(agents=("a1", "a2"))
    launch_step(driver, "a1", "docker")
    driver.send(AgentsListed((AgentInfo("a1", "a1.example", reachable=False),
                              AgentInfo("a2", "a2.example"))))
    assert driver.engine.agents["a1"].presence == "unreachable"
    assert driver.engine.restart_slot_holders() == {"a1"}
    driver.send(AgentsListed((AgentInfo("a1", "a1.example"), AgentInfo("a2", "a2.example"))))
    assert driver.engine.agents["a1"].presence == "active"


def test_a_new_agent_listed_as_unreachable_joins_as_unreachable():
    driver = Driver()
    driver.send(AgentSeen(AgentInfo("a1", "a1.example", reachable=False)))
    assert driver.engine.agents["a1"].presence == "unreachable"
    assert driver.engine.suppressed


def test_agents_that_took_the_capacity_at_one_instant_set_the_pace_from_when_the_line_formed():
    """Capacity freed during one allocation cycle is taken at the next, at one instant:
    measured among themselves those departures would say 0 s a turn, and every waiting
    agent would be declined for the shortest time at every cycle."""
    line = Line(3)
    for agent_id in ("w1", "w2", "w3", "w4", "w5", "w6"):
        line.refusal(agent_id, 0.0, shortest=1.0, longest=3600.0)
    for agent_id in ("w1", "w2", "w3"):
        line.took(agent_id, 12.0)
    # Three departures and the two other holders that turned over since the line formed.
    assert line.interval(1.0) == pytest.approx(12.0 / 5)
    assert line.refusal("w4", 12.0, shortest=1.0, longest=3600.0) == pytest.approx(1.2)
    assert line.refusal("w6", 12.0, shortest=1.0, longest=3600.0) == pytest.approx(3.6)


def test_the_first_departure_from_a_full_capacity_does_not_set_a_turn_per_holding_time():
    """Ten holders took the capacity when the line formed and the first left after 10 s:
    the next turns come about every second, not every 10 s."""
    line = Line(10)
    for index in range(12):
        line.refusal(f"w{index}", 0.0, shortest=1.0, longest=3600.0)
    line.took("w0", 10.0)
    assert line.interval(1.0) == pytest.approx(1.0)
