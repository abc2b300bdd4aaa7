"""End-to-end behaviour under faults: new, lost and broken agents, teardown, etcd outage.

Tests on Mesos 1.4 say so; the others run on 1.8 (see test_rollout.py)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from devcluster.host.faults import set_fault
from tests.e2e.checks import max_agents_disrupted_at_once, restarts_per_agent
from tests.wait import wait_until

pytestmark = pytest.mark.e2e

DEADLINE_S = 240.0


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def health_code(stack) -> int:
    try:
        with urllib.request.urlopen(stack.status_url + "health", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def test_new_agent_joins_and_lost_agent_holds_its_slot(make_stack):
    # Mesos 1.4: the lost agent's return is announced by nothing but its offers.
    stack = make_stack(agents=3, mesos_version="1.4")
    holders = stack.wait_status(lambda s: s["rollout"]["budget"]["holders"], DEADLINE_S)
    lost = holders["rollout"]["budget"]["holders"][0]
    stack.cluster.master.lose_agent(lost)
    before = restarts_per_agent(stack.options.cluster.events_file)
    new_agent = stack.cluster.add_agent()
    # While the holder is unreachable nobody else enters a disruptive step...
    status = stack.wait_status(
        lambda s: any(a["id"] == new_agent.id and a["steps"][0]["state"] == "complete"
                      for a in s["agents"]), DEADLINE_S)
    assert status["rollout"]["budget"]["holders"] == [lost]
    since = restarts_per_agent(stack.options.cluster.events_file) - before
    assert {agent for agent, _ in since} <= {lost}
    # ...and once it is back the rollout finishes everywhere, the new agent included.
    stack.cluster.master.restore_agent(lost)
    status = stack.wait_status(complete, DEADLINE_S)
    assert status["rollout"]["counts"]["total"] == 4
    assert max_agents_disrupted_at_once(stack.options.cluster.events_file) == 1


def test_teardown_registers_afresh_without_restarts(make_stack):
    stack = make_stack(agents=2, mesos_version="1.4")
    status = stack.wait_status(complete, DEADLINE_S)
    old_id = status["framework"]["id"]
    restarts = restarts_per_agent(stack.options.cluster.events_file)
    stack.cluster.master.teardown_framework(old_id)
    status = stack.wait_status(lambda s: s["framework"]["id"] not in (None, old_id)
                               and complete(s), DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 2
    assert restarts_per_agent(stack.options.cluster.events_file) == restarts


def test_docker_that_never_comes_back_fails_the_agent_and_halts(make_stack):
    stack = make_stack(agents=3, env={"CALICO_RETRY_MAX_ATTEMPTS": "2",
                                      "CALICO_RESTART_TIMEOUT": "5"})
    for agent in stack.cluster.master.agents.values():
        set_fault(agent.spec.root, "docker_never_starts", True)
    status = stack.wait_status(lambda s: s["rollout"]["state"] == "halted", DEADLINE_S)
    failed = [a for a in status["agents"] if a["state"] == "failed"]
    assert len(failed) == 1
    docker = next(s for s in failed[0]["steps"] if s["name"] == "docker")
    assert docker["state"] == "failed" and docker["message"]
    assert status["rollout"]["reason"]
    disrupted = {agent for agent, _ in restarts_per_agent(stack.options.cluster.events_file)}
    assert disrupted == {failed[0]["id"]}


def test_etcd_outage_reports_unhealthy_then_converges(make_stack):
    stack = make_stack(agents=2)
    stack.wait_status(lambda s: s["rollout"]["counts"]["in_progress"] >= 1, DEADLINE_S)
    stack.etcd.stop()
    wait_until(lambda: health_code(stack) == 503, 60, "/health to answer 503", 0.2)
    assert stack.scheduler.poll() is None
    stack.etcd.start()
    status = stack.wait_status(complete, DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 2
    assert health_code(stack) == 200
