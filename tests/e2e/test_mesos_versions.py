"""End-to-end on both emulated Mesos versions: a partitioned slot holder, a SIGKILLed
scheduler and a master failover with agents still recovering, in one rollout.

What each version does differently here (devcluster/versions.py): the partitioned agent's
return is announced with REASON_AGENT_REREGISTERED on 1.8 and not at all on 1.4; after the
failover the agents are `recovered_slaves` until they re-register, and reconciliation of
their tasks goes unanswered meanwhile.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.checks import max_agents_disrupted_at_once, restarts_per_agent
from tests.e2e.conftest import docker_runs_another_store

pytestmark = pytest.mark.e2e

DEADLINE_S = 240.0
REREGISTER_S = 6.0  # long enough for the scheduler to list agents while they recover


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


@pytest.mark.parametrize("version", ["1.4", "1.8"])
def test_partition_sigkill_and_failover_converge_within_the_budget(make_stack, version):
    stack = make_stack(agents=2, mesos_version=version,
                       master={"agent_reregister_delay_s": REREGISTER_S},
                       prepare=docker_runs_another_store)
    master = stack.cluster.master
    events = stack.options.cluster.events_file
    status = stack.wait_status(lambda s: s["rollout"]["budget"]["holders"], DEADLINE_S)
    holder = status["rollout"]["budget"]["holders"][0]
    master.lose_agent(holder)
    before = restarts_per_agent(events)

    stack.stop_scheduler(signal.SIGKILL)
    stack.start_scheduler()
    stack.wait_status(lambda s: s["framework"]["subscribed"], DEADLINE_S)
    master.fail_over()

    # The new scheduler lists the agents while they recover: none may become gone or
    # unreachable, and the partitioned holder keeps its slot.
    status = stack.wait_status(
        lambda s: s["framework"]["subscribed"] and all(
            a.state == "active" for a in master.agents.values() if a.id != holder),
        DEADLINE_S)
    assert status["rollout"]["budget"]["holders"] == [holder]
    since = restarts_per_agent(events) - before
    assert {agent for agent, _ in since} <= {holder}

    master.restore_agent(holder)
    status = stack.wait_status(complete, DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 2
    assert max_agents_disrupted_at_once(events) == 1
    # docker once each; the CNI files went in live
    assert sorted(restarts_per_agent(events).values()) == [1] * 2, restarts_per_agent(events)
    others = [a.spec.hostname for a in master.agents.values() if a.id != holder]
    log = stack.scheduler_log.read_text()
    assert not [line for line in log.splitlines() if " is gone" in line
                or any(f"agent {name} is unreachable" in line for name in others)]
