"""Records of agents gone from the cluster are removed once the retention period ran out."""

from __future__ import annotations

from framework.engine import AgentRemoved, Policy, Tick
from tests.engine.kit import Driver

DAY = 86400.0


def _gone(retention_s: float = 7 * DAY) -> Driver:
    driver = Driver(policy=Policy(gone_retention_s=retention_s), agents=("a1", "a2"))
    driver.complete_agent("a1")
    driver.send(AgentRemoved("a1"))
    return driver


def test_a_gone_agent_is_kept_for_the_retention_period_then_removed_with_an_event():
    driver = _gone()
    assert driver.send(Tick(), advance=7 * DAY - 1).removed == ()
    assert driver.engine.status_document(driver.now)["rollout"]["gone"] == 1
    decision = driver.send(Tick(), advance=1)
    assert decision.removed == ("a1",) and decision.needs_write
    assert [r.agent_id for r in decision.records] == []
    assert [n.text for n in decision.notices] == [
        "forgot agent a1.example: gone for 7.0 days (kept 7 days)"]
    assert set(driver.engine.agents) == {"a2"}
    rollout = driver.engine.status_document(driver.now)["rollout"]
    assert (rollout["gone"], rollout["counts"]["total"]) == (0, 1)


def test_agents_that_are_not_gone_are_kept_however_old():
    driver = Driver(policy=Policy(gone_retention_s=DAY), agents=("a1",))
    driver.complete_agent("a1")
    assert driver.send(Tick(), advance=30 * DAY).removed == ()
    assert set(driver.engine.agents) == {"a1"}


def test_a_removal_that_could_not_be_stored_is_rolled_back_and_decided_again():
    driver = _gone(DAY)
    decision = driver.send(Tick(), advance=DAY)
    driver.engine.rollback(decision)
    assert driver.engine.agents["a1"].presence == "gone"
    assert driver.send(Tick(), advance=1).removed == ("a1",)


def test_a_forgotten_agent_that_comes_back_joins_as_a_new_agent():
    driver = _gone(DAY)
    driver.send(Tick(), advance=DAY)
    decision = driver.offer("a1")
    assert [n.text for n in decision.notices][0] == "agent a1.example joined"
    assert driver.engine.agents["a1"].step("etcd-proxy").task_id is not None


def test_the_retention_period_is_in_the_status_document():
    driver = _gone(3 * DAY)
    assert driver.engine.status_document(driver.now)["rollout"]["gone_retention_s"] == 3 * DAY
