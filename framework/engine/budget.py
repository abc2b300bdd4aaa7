"""The disruption budget: how many agents may be inside a disruptive step at once.

Assumptions
- Disruptive steps (docker, cni, uninstall) may restart a service on the agent; every other
  step does not. Whether one must is decided on the host: a disruptive install step is
  first launched without restarts allowed (it applies what the host takes live, or exits
  76 changing nothing), and only a launch with restarts allowed can restart a service
  (`StepRecord.restart_allowed`). A run without them is counted like a non-disruptive
  step.
- Records are the engine's only knowledge: a task the records call live may be running,
  even on an agent the master cannot reach.

Invariants
- At most `max_concurrent_restarts` agents hold a restart slot, and a task that may restart
  a service is launched only on an agent that holds one (it either held it already or
  takes a free one).
- An agent holds its slot from the launch of a disruptive step with restarts allowed until
  that step finished with its target hash. Failing, waiting for a backoff, running again
  after exit 75 or an agent restart, and being unreachable do not release it (strict budget).
- Only three things release a slot early: the operator retries or skips the agent (the step
  is then `released` until its next launch), or the master removes the agent (`gone`).
- A task of a disruptive step that is still live with an outdated hash keeps its slot: a
  config change never lets more agents restart at once.

Non-disruptive steps, and disruptive ones launched without restarts allowed, have their own
cap, `max_parallel`, counted in agents with such a step in flight (task live but not yet
complete).
"""

from __future__ import annotations

from collections.abc import Collection

from framework.engine.plan import Plan
from framework.engine.records import PRESENCE_GONE, AgentRecord
from framework.engine.tasks import is_live


def holds_restart_slot(plan: Plan, agent: AgentRecord) -> bool:
    if agent.presence == PRESENCE_GONE:
        return False
    for spec in plan.steps:
        if not spec.disruptive:
            continue
        rec = agent.step(spec.name)
        if rec.released or not rec.restart_allowed:
            continue
        if is_live(rec.task_state):
            return True
        # The last task of this step was launched and never verified (failed, backing
        # off, running again): the agent may still be disrupted, whatever the config
        # says now. A config change must not free the slot of a broken agent.
        launched = rec.task_hash
        if launched is not None and launched not in (rec.done_hash, rec.skipped_hash):
            return True
    return False


def may_enter_disruptive(agent_id: str, holders: Collection[str], max_concurrent: int) -> bool:
    """True when the agent already holds a slot or a slot is free."""
    return agent_id in holders or len(holders) < max_concurrent


def may_start_parallel(agent_id: str, in_flight: Collection[str], max_parallel: int) -> bool:
    """True when the agent is already counted or the non-disruptive cap has room."""
    return agent_id in in_flight or len(in_flight) < max_parallel
