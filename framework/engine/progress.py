"""Per-agent facts derived from one agent record, and what blocks an agent from progressing.

`agent_facts` depends only on the plan, the retry policy and the record (never the clock),
so the engine can keep indexes of them and update one agent at a time. `blocker` adds the
rollout-wide gates and the clock, and is shared by the offer decision and the status page,
so the reason shown is the reason acted on.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

from framework.engine.budget import (
    holds_restart_slot,
    may_enter_disruptive,
    may_start_parallel,
)
from framework.engine.plan import Plan, StepSpec
from framework.engine.policy import Policy
from framework.engine.records import (
    PRESENCE_ACTIVE,
    PRESENCE_GONE,
    PRESENCE_UNREACHABLE,
    AgentRecord,
    StepRecord,
)
from framework.engine.steps import SATISFIED, Phase, needs_slot, step_phase
from framework.engine.tasks import LAUNCHED, is_live

AGENT_PENDING = "pending"
AGENT_IN_PROGRESS = "in_progress"
AGENT_COMPLETE = "complete"
AGENT_FAILED = "failed"
AGENT_GONE = "gone"
# The agent states of the status document (docs/status-api.md), in display order.
AGENT_STATES = (AGENT_PENDING, AGENT_IN_PROGRESS, AGENT_COMPLETE, AGENT_FAILED, AGENT_GONE)


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """Everything the engine indexes about one agent.

    `current`: plan position of the first step not complete or skipped (None when all are).
    `halting`: failed at a step that changes the host, so it counts towards halting the
    rollout (`failed` also covers a failed verification, which does not).
    `unfinished`: a reachable agent with steps left that are not failed; it wants offers
    (declined briefly while it waits). `maintenance`: its current step only restores a
    long-running task that had already reached its target, which goes on while the rollout
    is paused or halted. `idle`: nothing will happen on this agent without a new event
    (complete, failed, gone, or a done long-running task reporting unhealthy); its offers
    are declined for long.
    """

    current: int | None
    phase: Phase | None
    holder: bool
    in_flight: bool
    failed: bool
    halting: bool
    unfinished: bool
    maintenance: bool
    idle: bool
    unconfirmed: tuple[str, ...]
    state: str


def _unhealthy_after_done(plan: Plan, agent: AgentRecord, current: int | None,
                          phase: Phase | None) -> bool:
    """A long-running task that reached its target and now reports unhealthy: nothing is
    launched until it is healthy again or Mesos kills it (its terminal update makes the
    step READY, and maintenance restores it), so its offers need not come meanwhile."""
    if current is None or phase is not Phase.BUSY:
        return False
    spec = plan.steps[current]
    rec = agent.step(spec.name)
    return spec.long_running and rec.done_hash == spec.target_hash == rec.task_hash


def agent_facts(plan: Plan, policy: Policy, agent: AgentRecord) -> AgentFacts:
    retry = policy.retry
    gone = agent.presence == PRESENCE_GONE
    current: int | None = None
    current_phase: Phase | None = None
    in_flight = False
    failed = False
    halting = False
    started = False
    unconfirmed: list[str] = []
    for index, spec in enumerate(plan.steps):
        rec = agent.step(spec.name)
        phase = step_phase(spec, rec, retry)
        live = is_live(rec.task_state)
        if rec.task_state == LAUNCHED and rec.task_id is not None:
            unconfirmed.append(rec.task_id)
        if phase is Phase.FAILED:
            failed = True
            halting = halting or not spec.observing
        if live and phase not in SATISFIED:
            started = True
            in_flight = in_flight or not (spec.disruptive and rec.restart_allowed)
        elif phase is Phase.READY and rec.task_hash == spec.target_hash and rec.attempts:
            started = True
        if current is None and phase not in SATISFIED:
            current, current_phase = index, phase
    holder = holds_restart_slot(plan, agent)
    idle = (gone or current is None or current_phase is Phase.FAILED
            or _unhealthy_after_done(plan, agent, current, current_phase))
    unfinished = not idle and agent.presence == PRESENCE_ACTIVE
    maintenance = False
    if unfinished and current is not None and current_phase is Phase.READY:
        spec = plan.steps[current]
        maintenance = spec.long_running and agent.step(spec.name).done_hash == spec.target_hash
    if gone:
        state = AGENT_GONE
    elif failed:
        state = AGENT_FAILED
    elif current is None:
        state = AGENT_COMPLETE
    elif started or holder:
        state = AGENT_IN_PROGRESS
    else:
        state = AGENT_PENDING
    return AgentFacts(
        current=current,
        phase=current_phase,
        holder=holder,
        in_flight=in_flight and not gone,
        failed=failed and not gone,
        halting=halting and not gone,
        unfinished=unfinished,
        maintenance=maintenance,
        idle=idle,
        unconfirmed=tuple(unconfirmed) if not gone else (),
        state=state,
    )


@dataclass(frozen=True, slots=True)
class Gates:
    """Rollout-wide conditions, as the engine's indexes or a full recount see them."""

    paused: bool
    halted: bool
    holders: Collection[str]
    in_flight: Collection[str]


class Block(Enum):
    GONE = "gone"
    NOTHING = "nothing"  # complete
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    BUSY = "busy"
    KILLING = "killing"
    OLD_TASK = "old_task"
    HALTED = "halted"
    PAUSED = "paused"
    BACKOFF = "backoff"
    BUDGET = "budget"
    PARALLEL_CAP = "parallel_cap"


@dataclass(frozen=True, slots=True)
class Blocker:
    kind: Block
    step: StepSpec | None = None
    record: StepRecord | None = None


def blocker(
    plan: Plan, policy: Policy, agent: AgentRecord, facts: AgentFacts, gates: Gates, now: float
) -> Blocker | None:
    """Why the agent's current step cannot start now, or None when it can."""
    if agent.presence == PRESENCE_GONE:
        return Blocker(Block.GONE)
    if facts.current is None:
        return Blocker(Block.NOTHING)
    spec = plan.steps[facts.current]
    rec = agent.step(spec.name)
    phase = facts.phase
    if phase is Phase.FAILED:
        return Blocker(Block.FAILED, spec, rec)
    if agent.presence == PRESENCE_UNREACHABLE:
        return Blocker(Block.UNREACHABLE, spec, rec)
    if phase is Phase.BUSY:
        return Blocker(Block.BUSY, spec, rec)
    if phase is Phase.KILLING:
        return Blocker(Block.KILLING, spec, rec)
    if phase is Phase.STALE and not spec.long_running:
        return Blocker(Block.OLD_TASK, spec, rec)
    if not facts.maintenance:
        if gates.halted:
            return Blocker(Block.HALTED, spec, rec)
        if gates.paused:
            return Blocker(Block.PAUSED, spec, rec)
    if rec.backoff_until is not None and now < rec.backoff_until:
        return Blocker(Block.BACKOFF, spec, rec)
    if needs_slot(spec, rec):
        if not may_enter_disruptive(agent.agent_id, gates.holders, policy.max_concurrent_restarts):
            return Blocker(Block.BUDGET, spec, rec)
    elif not may_start_parallel(agent.agent_id, gates.in_flight, policy.max_parallel):
        return Blocker(Block.PARALLEL_CAP, spec, rec)
    return None
