"""Violations the chaos suite found, each reproduced by a focused test on the dev cluster.

Each stays `xfail(strict=True)` until the product is fixed; the fix removes the mark.
"""

from __future__ import annotations

import time

import pytest

from devcluster.host.events import read_events
from devcluster.host.faults import set_fault
from tests.chaos import invariants as inv
from tests.chaos.runner import CHANGE_ENV, POLL_S
from tests.chaos.schedulers import Schedulers

pytestmark = pytest.mark.e2e

DEADLINE_S = 180.0


def wait_leader_status(schedulers: Schedulers, predicate, deadline_s: float = DEADLINE_S
                       ) -> dict:
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        found = schedulers.leader()
        if found is not None:
            last = found[1]
            if predicate(last):
                return last
        time.sleep(POLL_S)
    state = None if last is None else last["rollout"]["state"]
    raise AssertionError(f"timed out after {deadline_s}s (rollout state {state!r})")


@pytest.mark.xfail(strict=True, reason=(
    "a config change releases the restart slot of an agent whose disruptive step failed "
    "(framework/engine/budget.py holds_restart_slot compares the old task hash with the new "
    "target), so a second agent restarts Docker while the first one's Docker is still down"))
def test_config_change_keeps_the_restart_slot_of_an_agent_whose_docker_is_down(chaos_stack):
    stack, schedulers = chaos_stack(agents=2, k=1, env={"CALICO_RETRY_MAX_ATTEMPTS": "1"})
    healthy, broken = stack.cluster.master.agents.values()
    set_fault(broken.spec.root, "docker_never_starts", True)
    schedulers.start()
    first = wait_leader_status(schedulers, lambda s: s["rollout"]["state"] == "halted")
    states = {a["id"]: a["state"] for a in first["agents"]}
    assert states == {healthy.id: "complete", broken.id: "failed"}

    schedulers.stop_all()
    schedulers.env = dict(CHANGE_ENV)
    schedulers.start()
    wait_leader_status(schedulers, lambda s: s["rollout"]["config_hash"]
                       != first["rollout"]["config_hash"] and s["rollout"]["state"] == "halted")

    events = read_events(stack.options.cluster.events_file)
    # The broken agent's Docker never came back, so it is disrupted throughout; the
    # healthy agent must not restart anything beside it with one restart slot.
    assert inv.check_budget(events, {}, 1) == []
