"""Violations the chaos suite found, each reproduced by a focused test on the dev cluster.

Each is `xfail(strict=True)` until the product is fixed; the fix removes the mark.
"""

from __future__ import annotations

import time

import pytest

from devcluster.host.events import read_events
from devcluster.host.faults import set_fault
from tests.chaos import invariants as inv
from tests.chaos.runner import CHANGE_ENV, POLL_S
from tests.chaos.schedulers import Schedulers
from tests.e2e.conftest import docker_will_run_another_store

pytestmark = pytest.mark.e2e

DEADLINE_S = 180.0
# The scheduler lists agents every 30 s: two listings and some slack.
REMOVED_DEADLINE_S = 75.0


def wait_leader_status(schedulers: Schedulers, predicate, deadline_s: float = DEADLINE_S,
                       *, must: bool = True) -> dict | None:
    """The leading scheduler's status once `predicate` holds. On timeout: TimeoutError when
    `must` (a step of the scenario failed), else the last status seen (the test judges)."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        found = schedulers.leader()
        if found is not None:
            last = found[1]
            if predicate(last):
                return last
        time.sleep(POLL_S)
    if not must:
        return last
    state = None if last is None else last["rollout"]["state"]
    raise TimeoutError(f"timed out after {deadline_s}s (rollout state {state!r})")


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def test_config_change_keeps_the_restart_slot_of_an_agent_whose_docker_is_down(chaos_stack):
    stack, schedulers = chaos_stack(agents=1, k=1, env={"CALICO_RETRY_MAX_ATTEMPTS": "1",
                                                        "CALICO_RESTART_TIMEOUT": "10"})
    master = stack.cluster.master
    [healthy] = master.agents.values()
    schedulers.start()
    # The healthy agent converges first, whichever agent's etcd proxy would be healthy first.
    wait_leader_status(schedulers, complete)
    # Its Docker runs another store, so the docker step needs a restart, which never ends.
    docker_will_run_another_store(stack.cluster.work_dir, len(master.agents))
    broken = stack.cluster.add_agent()
    set_fault(broken.spec.root, "docker_never_starts", True)  # its etcd-proxy step comes first
    first = wait_leader_status(schedulers, lambda s: s["rollout"]["state"] == "halted")
    states = {a["id"]: a["state"] for a in first["agents"]}
    assert states == {healthy.id: "complete", broken.id: "failed"}

    # The broken agent is unreachable while the new config rolls out, so only the healthy
    # agent is offered: it must wait for the slot the broken agent still holds.
    master.lose_agent(broken.id)
    schedulers.stop_all()
    schedulers.env = dict(CHANGE_ENV)
    schedulers.start()

    def healthy_docker_decided(status: dict) -> bool:
        if status["rollout"]["config_hash"] == first["rollout"]["config_hash"]:
            return False
        agent = next(a for a in status["agents"] if a["id"] == healthy.id)
        docker = next(s for s in agent["steps"] if s["name"] == "docker")
        return docker["state"] == "complete" or "restart slot" in (agent["waiting_reason"] or "")

    wait_leader_status(schedulers, healthy_docker_decided)
    events = read_events(stack.options.cluster.events_file)
    # The broken agent's Docker never came back, so it is disrupted throughout; the
    # healthy agent must not restart anything beside it with one restart slot.
    assert inv.check_budget(events, {}, 1) == []


@pytest.mark.parametrize(("version", "lost_first"), [("1.8", False), ("1.4", True)])
def test_an_agent_removed_for_good_ends_gone_and_the_rollout_completes(chaos_stack, version,
                                                                        lost_first):
    """1.8: marked gone, its tasks end TASK_GONE_BY_OPERATOR. 1.4, unreachable first: the
    registry forgets it without a word; reconciliation after the next agent listing
    finds it unknown."""
    stack, schedulers = chaos_stack(agents=2, mesos_version=version)
    schedulers.start()
    wait_leader_status(schedulers, complete)
    removed = list(stack.cluster.master.agents)[1]
    if lost_first:
        stack.cluster.master.lose_agent(removed)
        wait_leader_status(schedulers, lambda s: any(
            a["id"] == removed and a["waiting_reason"] for a in s["agents"]))
    stack.cluster.master.remove_agent(removed)

    def settled_without_it(status: dict) -> bool:
        states = {a["id"]: a["state"] for a in status["agents"]}
        return complete(status) and states.get(removed, "gone") == "gone"

    status = wait_leader_status(schedulers, settled_without_it, REMOVED_DEADLINE_S, must=False)
    assert status is not None
    states = {a["id"]: (a["state"], a["waiting_reason"]) for a in status["agents"]}
    assert status["rollout"]["state"] == "complete", states
    assert states.get(removed, ("gone",))[0] == "gone", states
