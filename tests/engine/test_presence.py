"""What the master's answers say of an agent: recovering, unreachable, back or gone.

The Mesos facts these rely on (apache/mesos master.cpp `Master::reconcile`,
`Master::_reconcileTasks`, `Master::__reregisterSlave`; devcluster/versions.py): after a
master failover agents are listed as recovering until they re-register; an agent missing
from the list is unreachable or gone, which only reconciliation tells apart; Mesos 1.4 says
nothing when an unreachable agent returns.
"""

from __future__ import annotations

import pytest

from framework.engine import (
    AgentInfo,
    AgentsListed,
    AgentUnreachable,
    Kill,
    Reconcile,
    TaskStatus,
)
from tests.engine.kit import Driver, launch_step, of_type

RECONCILED = "REASON_RECONCILIATION"


def _listed(*agent_ids: str, recovering: tuple[str, ...] = ()) -> AgentsListed:
    return AgentsListed(tuple(AgentInfo(a, f"{a}.example") for a in agent_ids)
                        + tuple(AgentInfo(a, f"{a}.example", recovering=True)
                                for a in recovering))


def _holder_and_other() -> tuple[Driver, str]:
    driver = Driver(agents=("a1", "a2"))
    docker = launch_step(driver, "a1", "docker")
    return driver, docker.task_id


def test_recovering_agents_after_a_master_failover_keep_presence_and_slot():
    driver, _ = _holder_and_other()
    decision = driver.send(_listed("a2", recovering=("a1",)))
    assert driver.engine.agents["a1"].presence == "active"
    assert driver.engine.restart_slot_holders() == {"a1"}
    assert not of_type(decision, Reconcile)
    driver.send(_listed(recovering=("a1", "a2", "a3")))
    assert {a.presence for a in driver.engine.agents.values()} == {"active"}
    assert "a3" in driver.engine.agents


def test_a_missing_agent_holds_its_slot_until_the_master_says_it_is_gone():
    driver, docker = _holder_and_other()
    decision = driver.send(_listed("a2"))
    assert (docker, "a1") in of_type(decision, Reconcile)[0].tasks
    assert driver.engine.agents["a1"].presence == "unreachable"
    assert driver.engine.restart_slot_holders() == {"a1"}
    decision = driver.status(docker, "TASK_UNREACHABLE", reason=RECONCILED)
    assert driver.engine.agents["a1"].presence == "unreachable"
    assert not of_type(decision, Kill)
    driver.status(docker, "TASK_UNKNOWN", reason=RECONCILED)
    assert driver.engine.agents["a1"].presence == "gone"
    assert driver.engine.restart_slot_holders() == frozenset()


@pytest.mark.parametrize("reason", [RECONCILED, "REASON_AGENT_REMOVED_BY_OPERATOR"])
def test_gone_by_operator_means_gone(reason):
    driver, docker = _holder_and_other()
    driver.status(docker, "TASK_GONE_BY_OPERATOR", reason=reason)
    assert driver.engine.agents["a1"].presence == "gone"
    assert driver.engine.restart_slot_holders() == frozenset()


def test_an_unknown_task_on_a_listed_agent_does_not_make_it_gone():
    """Mesos 1.4 answers TASK_UNKNOWN for a task a registered agent does not know."""
    driver, docker = _holder_and_other()
    driver.status(docker, "TASK_UNKNOWN", reason=RECONCILED)
    assert driver.engine.agents["a1"].presence == "active"


def test_an_unreachable_answer_marks_an_active_agent_unreachable():
    """The FAILURE that announced it may have come while no scheduler was subscribed."""
    driver, docker = _holder_and_other()
    driver.status(docker, "TASK_UNREACHABLE", reason=RECONCILED)
    assert driver.engine.agents["a1"].presence == "unreachable"
    assert driver.engine.restart_slot_holders() == {"a1"}


def test_probe_answers_for_an_agent_without_tasks_kill_nothing():
    driver = Driver(agents=("a1",))
    decision = driver.send(_listed())
    ((probe, agent_id),) = of_type(decision, Reconcile)[0].tasks
    for state in ("TASK_UNREACHABLE", "TASK_GONE", "TASK_UNKNOWN"):
        assert not of_type(driver.send(TaskStatus(probe, state, reason=RECONCILED)), Kill)
    assert driver.engine.agents[agent_id].presence == "gone"


def test_a_returning_agent_has_its_live_tasks_reconciled():
    """Mesos 1.4 re-adds a returning agent's tasks silently: the engine asks."""
    driver, docker = _holder_and_other()
    proxy = driver.engine.agents["a1"].step("etcd-proxy").task_id
    driver.send(AgentUnreachable("a1"))
    driver.status(docker, "TASK_UNREACHABLE")
    decision = driver.send(_listed("a1", "a2"))
    assert driver.engine.agents["a1"].presence == "active"
    (reconcile,) = of_type(decision, Reconcile)
    assert sorted(reconcile.tasks) == sorted([(proxy, "a1"), (docker, "a1")])
    driver.status(docker, "TASK_RUNNING", reason=RECONCILED)
    assert driver.engine.agents["a1"].step("docker").task_state == "TASK_RUNNING"


def test_a_gone_agent_is_not_asked_about_again():
    driver, docker = _holder_and_other()
    driver.status(docker, "TASK_GONE_BY_OPERATOR")
    decision = driver.send(_listed("a2"))
    assert not of_type(decision, Reconcile)
    assert driver.engine.agents["a1"].presence == "gone"
