"""Subscription, reconciliation, chasing unconfirmed launches, and undoing unstored decisions."""

from __future__ import annotations

from framework.engine import (
    AgentInfo,
    AgentSeen,
    Engine,
    Launch,
    Policy,
    Reconcile,
    Revive,
    Subscribed,
    Suppress,
    Tick,
)
from tests.engine.kit import Driver, launch_step, of_type, refuse_seconds


def test_subscribing_reconciles_live_tasks_explicitly_then_implicitly():
    driver = Driver(agents=("a1", "a2"))
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_RUNNING")
    docker = driver.launch("a1")
    driver.launch("a2")
    decision = driver.send(Subscribed())
    explicit, implicit = of_type(decision, Reconcile)
    assert sorted(explicit.tasks) == sorted(
        [
            (proxy.task_id, "a1"),
            (docker.task_id, "a1"),
            (driver.engine.agents["a2"].step("etcd-proxy").task_id, "a2"),
        ]
    )
    assert implicit == Reconcile()
    assert decision.actions[-1] == Revive()


def test_a_one_shot_task_unheard_of_since_subscribing_gets_short_declines():
    """It may have ended while no scheduler was connected: the offer then already holds its
    resources, so a filter would not lift; once it is heard of, declines are longer."""
    driver = Driver(agents=("a1",), needs_restart=False)
    proxy = driver.launch("a1")
    driver.status(proxy.task_id, "TASK_RUNNING", healthy=True)
    docker = driver.launch("a1")
    driver.status(docker.task_id, "TASK_RUNNING")
    policy = driver.engine.policy
    assert refuse_seconds(driver.offer("a1")) == [policy.refuse_busy_s]
    driver.send(Subscribed())
    assert refuse_seconds(driver.offer("a1")) == [policy.refuse_wait_s]
    driver.status(docker.task_id, "TASK_RUNNING")  # the reconciliation's answer
    assert refuse_seconds(driver.offer("a1")) == [policy.refuse_busy_s]
    driver.send(Subscribed())
    driver.status(docker.task_id, "TASK_FINISHED")
    assert driver.launch("a1").step == "cni"


def test_subscribing_with_nothing_to_do_suppresses():
    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    engine = Engine(driver.plan, Policy(), driver.engine.agents.values())
    decision = engine.decide(Subscribed(), driver.now)
    assert decision.actions[-1] == Suppress()


def test_a_launch_without_any_update_is_reconciled_after_the_timeout_once_per_period():
    policy = Policy(launch_timeout_s=30.0)
    driver = Driver(agents=("a1",), policy=policy)
    proxy = driver.launch("a1")
    assert driver.send(Tick(), advance=29).actions == ()
    assert driver.send(Tick(), advance=1).actions == (Reconcile(((proxy.task_id, "a1"),)),)
    assert driver.send(Tick(), advance=10).actions == ()
    assert driver.send(Tick(), advance=20).actions == (Reconcile(((proxy.task_id, "a1"),)),)
    driver.status(proxy.task_id, "TASK_STAGING")
    assert driver.send(Tick(), advance=100).actions == ()


def test_rollback_forgets_a_decision_whose_records_could_not_be_stored():
    driver = Driver(agents=("a1",))
    launch_step(driver, "a1", "docker")
    before_agents = dict(driver.engine.agents)
    before_holders = driver.engine.restart_slot_holders()
    decision = driver.send(AgentSeen(AgentInfo("a2", "a2.example")))
    driver.engine.rollback(decision)
    assert dict(driver.engine.agents) == before_agents
    assert driver.engine.restart_slot_holders() == before_holders
    first = driver.offer("a1")
    assert of_type(first, Launch) == []


def test_rollback_of_a_launch_lets_the_next_offer_launch_the_same_step():
    driver = Driver(agents=("a1",))
    decision = driver.offer("a1")
    (launch,) = of_type(decision, Launch)
    driver.engine.rollback(decision)
    assert driver.engine.agents["a1"].step("etcd-proxy").task_id is None
    assert driver.engine.live_tasks() == []
    again = driver.launch("a1")
    assert again.step == launch.step and again.task_id != launch.task_id


def test_rollback_restores_suppression_and_control():
    from framework.engine import Pause

    driver = Driver(agents=("a1",))
    decision = driver.send(Pause("alice", "x"))
    assert driver.engine.suppressed
    driver.engine.rollback(decision)
    assert not driver.engine.suppressed
    assert not driver.engine.control.paused
