"""One-sentence explanations of why an agent is not progressing, and of halts and pauses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from framework.engine.events import Offer
from framework.engine.plan import Plan, StepSpec
from framework.engine.policy import Policy
from framework.engine.progress import AgentFacts, Block, Blocker, Gates, blocker
from framework.engine.records import AgentRecord, RolloutControl
from framework.engine.tasks import TASK_UNREACHABLE, TERMINAL_STATES

# Hostnames named in one sentence before the rest are summarised as "and N more".
MAX_NAMED_AGENTS = 5


def timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def name_agents(hostnames: Iterable[str]) -> str:
    names = sorted(hostnames)
    shown = ", ".join(names[:MAX_NAMED_AGENTS])
    extra = len(names) - MAX_NAMED_AGENTS
    return f"{shown} and {extra} more" if extra > 0 else shown


def shortfall(spec: StepSpec, offers: Iterable[Offer]) -> str:
    """What the best single-role part of the offers lacks, e.g. 'offer has 0.05 cpus of
    the 0.1 needed for docker'."""
    best: list[str] | None = None
    for offer in offers:
        for res in offer.resources:
            missing = []
            if res.cpus < spec.cpus:
                missing.append(f"{res.cpus:g} cpus of the {spec.cpus:g} needed")
            if res.mem < spec.mem:
                missing.append(f"{res.mem:g} MB mem of the {spec.mem:g} needed")
            if best is None or len(missing) < len(best):
                best = missing
    if not best:
        return f"offer has no cpus or mem for {spec.name}"
    return f"offer has {' and '.join(best)} for {spec.name}"


def halt_reason(policy: Policy, failed_hostnames: Iterable[str], what: str = "rollout") -> str:
    names = list(failed_hostnames)
    return (
        f"{what} halted: {len(names)} failed agent(s) ({name_agents(names)}) exceed the "
        f"failure budget of {policy.max_failed}; retry or skip them to continue"
    )


def pause_reason(control: RolloutControl, what: str = "rollout") -> str:
    when = "" if control.at is None else f" at {timestamp(control.at)}"
    return f"{what} paused by {control.by}{when}: {control.why}"


def waiting_reason(
    plan: Plan,
    policy: Policy,
    agent: AgentRecord,
    facts: AgentFacts,
    gates: Gates,
    now: float,
    hostname_of: Callable[[str], str],
    control: RolloutControl,
    last_offer_at: Mapping[str, float],
    offer_notes: Mapping[str, str],
) -> str | None:
    """The sentence shown for an agent that is not progressing; None while it progresses."""
    block = blocker(plan, policy, agent, facts, gates, now)
    if block is not None:
        return _blocked(block, agent, policy, gates, hostname_of, control)
    spec = plan.steps[facts.current]
    rec = agent.step(spec.name)
    note = offer_notes.get(agent.agent_id)
    if note is not None:
        return note
    if rec.reruns and rec.task_state in TERMINAL_STATES and rec.task_hash == spec.target_hash:
        return f"waiting for a restart to finish before {spec.name} runs again"
    if agent.agent_id not in last_offer_at:
        return f"no offer from this agent yet (needed to start {spec.name})"
    return f"waiting for the next offer to start {spec.name}"


def _blocked(
    block: Blocker,
    agent: AgentRecord,
    policy: Policy,
    gates: Gates,
    hostname_of: Callable[[str], str],
    control: RolloutControl,
) -> str | None:
    kind, spec, rec = block.kind, block.step, block.record
    if kind in (Block.GONE, Block.NOTHING) or spec is None or rec is None:
        return None
    step = spec.name
    if kind is Block.BUSY:
        if rec.task_state == TASK_UNREACHABLE:
            return f"waiting for the agent to come back: its {step} task is unreachable"
        return None
    if kind is Block.FAILED:
        return (
            f"{step} failed after {rec.failures} attempt(s): {rec.message or 'no message'}; "
            f"retry or skip this agent"
        )
    if kind is Block.UNREACHABLE:
        since = "" if agent.presence_since is None else f" since {timestamp(agent.presence_since)}"
        return f"agent unreachable{since}; waiting for it to return before {step}"
    if kind is Block.KILLING:
        return f"waiting for the old {step} task to stop before starting it again"
    if kind is Block.OLD_TASK:
        return f"waiting for the {step} task of the previous configuration to finish"
    if kind is Block.HALTED:
        return f"rollout halted: more than {policy.max_failed} agent(s) failed"
    if kind is Block.PAUSED:
        return pause_reason(control)
    if kind is Block.BACKOFF and rec.backoff_until is not None:
        return (
            f"{step} failed ({rec.message or 'no message'}); backing off until "
            f"{timestamp(rec.backoff_until)}"
        )
    if kind is Block.BUDGET:
        holders = name_agents(hostname_of(a) for a in gates.holders)
        why = f" ({rec.restart_reason})" if rec.restart_reason else ""
        return (
            f"waiting for a restart slot for {step}{why}: held by {holders} "
            f"(max_concurrent_restarts={policy.max_concurrent_restarts})"
        )
    return (
        f"waiting for a free slot for {step}: {len(gates.in_flight)} agents are starting "
        f"non-disruptive steps (max_parallel={policy.max_parallel})"
    )
