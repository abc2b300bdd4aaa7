"""The uninstall plan: what removing Calico means on one agent, and what blocks it.

Once an operator asked for the uninstall (`dcos package uninstall` restarts the scheduler
with SDK_UNINSTALL), the engine runs this plan instead of the install plan, for good. On each
agent, in order, each stage waiting for the one before:

  stop-calico-node   kill the calico/node task (its container stops with it)
  uninstall          the one-shot `calico-installer.pyz uninstall`: puts the CNI files and
                     Docker's daemon.json back as they were, restarting the agent and Docker
                     where the host needs it (exit 75: run again), and removes a leftover
                     calico-node container
  stop-etcd-proxy    kill the etcd proxy task, once nothing on the agent uses it

A one-shot install task still running (docker, cni) is left to finish first. An agent where
the framework never launched a task has nothing to remove and is complete at once.

Budget (the same as the install's, see budget.py): an agent takes a restart slot when its
uninstall begins (the calico/node kill, or the uninstall launch where no calico/node runs)
and keeps it until its uninstall step finished; failing, backing off, running again and
being unreachable keep it. An agent that still holds a slot from the install keeps it into
its uninstall. The installer decides on the host whether a restart is needed, exactly as for
the install's disruptive steps. Stopping the proxy counts against `max_parallel`.

Failed and unreachable agents hold the uninstall as they hold the install, so nothing is
torn down while an agent may still carry Calico: the uninstall is complete, and the
framework may be torn down, when every agent that is not gone is uninstalled or skipped by
an operator. A skipped agent keeps whatever was installed there (the teardown ends its
tasks); the page names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum

from framework.engine.budget import holds_restart_slot, may_enter_disruptive, may_start_parallel
from framework.engine.plan import (
    LONG_RUNNING_STEPS,
    STEP_CALICO_NODE,
    STEP_ETCD_PROXY,
    STEP_ORDER,
    STEP_UNINSTALL,
    Plan,
)
from framework.engine.policy import Policy
from framework.engine.progress import (
    AGENT_COMPLETE,
    AGENT_FAILED,
    AGENT_GONE,
    AGENT_IN_PROGRESS,
    AGENT_PENDING,
    AgentFacts,
    Block,
    Blocker,
    Gates,
)
from framework.engine.reasons import name_agents, pause_reason, timestamp
from framework.engine.records import (
    PRESENCE_ACTIVE,
    PRESENCE_GONE,
    PRESENCE_UNREACHABLE,
    AgentRecord,
    RolloutControl,
    StepRecord,
)
from framework.engine.steps import SATISFIED, Phase, step_phase
from framework.engine.tasks import LAUNCHED, TERMINAL_STATES, is_live

ONE_SHOT_INSTALL_STEPS = tuple(s for s in STEP_ORDER if s not in LONG_RUNNING_STEPS)
STOP_NODE = "stop-calico-node"
STOP_PROXY = "stop-etcd-proxy"


class Stage(IntEnum):
    """Where an agent's uninstall stands; `AgentFacts.current` holds its value."""

    WAIT_INSTALL = 0  # a one-shot install task still runs
    STOP_NODE = 1
    UNINSTALL = 2
    STOP_PROXY = 3


# The step record each stage acts on (WAIT_INSTALL: found by `_live_install_task`).
STAGE_STEPS = {Stage.STOP_NODE: STEP_CALICO_NODE, Stage.UNINSTALL: STEP_UNINSTALL,
               Stage.STOP_PROXY: STEP_ETCD_PROXY}
# The status document's names for the stop stages, and the step records they show.
STOPPED_STEPS = {STOP_NODE: STEP_CALICO_NODE, STOP_PROXY: STEP_ETCD_PROXY}
STOP_STAGES = frozenset({Stage.STOP_NODE, Stage.STOP_PROXY})


def needs_uninstall(agent: AgentRecord) -> bool:
    """True when the framework ever launched a task on the agent."""
    return any(rec.task_id is not None for rec in agent.steps.values())


def _live_install_task(agent: AgentRecord) -> str | None:
    for name in ONE_SHOT_INSTALL_STEPS:
        if is_live(agent.step(name).task_state):
            return name
    return None


def _stop_phase(rec: StepRecord) -> Phase:
    return Phase.KILLING if rec.kill_requested else Phase.READY


def stage_of(plan: Plan, policy: Policy, agent: AgentRecord) -> tuple[Stage | None, Phase | None]:
    """The agent's current stage and the phase of the record it acts on (None: done)."""
    un = agent.step(STEP_UNINSTALL)
    phase = step_phase(plan.uninstall, un, policy.retry)
    if phase is Phase.FAILED:
        return Stage.UNINSTALL, phase
    if phase in SATISFIED or not needs_uninstall(agent):
        proxy = agent.step(STEP_ETCD_PROXY)
        if phase is not Phase.SKIPPED and is_live(proxy.task_state):
            return Stage.STOP_PROXY, _stop_phase(proxy)
        return None, None
    if _live_install_task(agent) is not None:
        return Stage.WAIT_INSTALL, Phase.BUSY
    node = agent.step(STEP_CALICO_NODE)
    if is_live(node.task_state):
        return Stage.STOP_NODE, _stop_phase(node)
    return Stage.UNINSTALL, phase


def holds_uninstall_slot(plan: Plan, policy: Policy, agent: AgentRecord) -> bool:
    """From the start of the agent's uninstall until its uninstall step is satisfied; an
    agent that has not started it keeps a slot it still holds from the install."""
    if agent.presence == PRESENCE_GONE:
        return False
    un = agent.step(STEP_UNINSTALL)
    if step_phase(plan.uninstall, un, policy.retry) in SATISFIED:
        return False
    if un.task_hash is None:
        return holds_restart_slot(plan, agent)
    return not un.released


def uninstall_facts(plan: Plan, policy: Policy, agent: AgentRecord) -> AgentFacts:
    """`AgentFacts` of an agent under the uninstall plan (`current` is a `Stage`)."""
    gone = agent.presence == PRESENCE_GONE
    stage, phase = stage_of(plan, policy, agent)
    holder = holds_uninstall_slot(plan, policy, agent)
    failed = phase is Phase.FAILED and not gone
    idle = gone or stage is None or failed
    proxy = agent.step(STEP_ETCD_PROXY)
    in_flight = stage is Stage.STOP_PROXY and proxy.kill_requested and not gone
    unconfirmed = () if gone else tuple(
        rec.task_id for rec in agent.steps.values()
        if rec.task_state == LAUNCHED and rec.task_id is not None)
    started = holder or agent.step(STEP_UNINSTALL).task_hash is not None or in_flight
    if gone:
        state = AGENT_GONE
    elif failed:
        state = AGENT_FAILED
    elif stage is None:
        state = AGENT_COMPLETE
    elif started:
        state = AGENT_IN_PROGRESS
    else:
        state = AGENT_PENDING
    return AgentFacts(
        current=None if stage is None else int(stage),
        phase=phase,
        holder=holder,
        in_flight=in_flight,
        failed=failed,
        halting=failed,
        unfinished=not idle and agent.presence == PRESENCE_ACTIVE,
        maintenance=False,
        idle=idle,
        unconfirmed=unconfirmed,
        state=state,
    )


def stage_record(agent: AgentRecord, stage: Stage) -> StepRecord:
    if stage is Stage.WAIT_INSTALL:
        return agent.step(_live_install_task(agent) or ONE_SHOT_INSTALL_STEPS[0])
    return agent.step(STAGE_STEPS[stage])


def uninstall_blocker(
    plan: Plan, policy: Policy, agent: AgentRecord, facts: AgentFacts, gates: Gates, now: float
) -> Blocker | None:
    """Why the agent's current uninstall stage cannot act now, or None when it can."""
    if agent.presence == PRESENCE_GONE:
        return Blocker(Block.GONE)
    if facts.current is None:
        return Blocker(Block.NOTHING)
    stage = Stage(facts.current)
    rec = stage_record(agent, stage)
    spec = plan.uninstall if stage is Stage.UNINSTALL else None
    if facts.phase is Phase.FAILED:
        return Blocker(Block.FAILED, spec, rec)
    if agent.presence == PRESENCE_UNREACHABLE:
        return Blocker(Block.UNREACHABLE, spec, rec)
    if stage is Stage.WAIT_INSTALL:
        return Blocker(Block.OLD_TASK, spec, rec)
    if facts.phase is Phase.BUSY:
        return Blocker(Block.BUSY, spec, rec)
    if facts.phase is Phase.KILLING:
        return Blocker(Block.KILLING, spec, rec)
    if gates.halted:
        return Blocker(Block.HALTED, spec, rec)
    if gates.paused:
        return Blocker(Block.PAUSED, spec, rec)
    if stage is Stage.UNINSTALL and rec.backoff_until is not None and now < rec.backoff_until:
        return Blocker(Block.BACKOFF, spec, rec)
    if stage is Stage.STOP_PROXY:
        if not may_start_parallel(agent.agent_id, gates.in_flight, policy.max_parallel):
            return Blocker(Block.PARALLEL_CAP, spec, rec)
    elif not may_enter_disruptive(agent.agent_id, gates.holders, policy.max_concurrent_restarts):
        return Blocker(Block.BUDGET, spec, rec)
    return None


_WHAT = {Stage.WAIT_INSTALL: "uninstall", Stage.STOP_NODE: "stop calico-node",
         Stage.UNINSTALL: "uninstall", Stage.STOP_PROXY: "stop the etcd proxy"}


def uninstall_waiting_reason(
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
    """The sentence shown for an agent whose uninstall is not progressing."""
    block = uninstall_blocker(plan, policy, agent, facts, gates, now)
    if block is not None:
        return _blocked(block, agent, facts, policy, gates, hostname_of, control)
    stage = Stage(facts.current)
    rec = stage_record(agent, stage)
    note = offer_notes.get(agent.agent_id)
    if note is not None:
        return note
    if stage is Stage.UNINSTALL and rec.reruns and rec.task_state in TERMINAL_STATES:
        return "waiting for a restart to finish before uninstall runs again"
    if agent.agent_id not in last_offer_at:
        return f"no offer from this agent yet (needed to {_WHAT[stage]})"
    return f"waiting for the next offer to {_WHAT[stage]}"


def _blocked(
    block: Blocker,
    agent: AgentRecord,
    facts: AgentFacts,
    policy: Policy,
    gates: Gates,
    hostname_of: Callable[[str], str],
    control: RolloutControl,
) -> str | None:
    kind, rec = block.kind, block.record
    if kind in (Block.GONE, Block.NOTHING) or rec is None:
        return None
    stage = Stage(facts.current)
    if kind is Block.FAILED:
        return (f"uninstall failed after {rec.failures} attempt(s): "
                f"{rec.message or 'no message'}; retry, or skip to leave this agent as it is")
    if kind is Block.UNREACHABLE:
        since = "" if agent.presence_since is None else f" since {timestamp(agent.presence_since)}"
        return (f"agent unreachable{since}; the uninstall waits for it to return (skip it to "
                f"tear down without it: what was installed there stays)")
    if kind is Block.OLD_TASK:
        name = _live_install_task(agent)
        return f"waiting for its {name} install task to finish before uninstalling"
    if kind is Block.BUSY:
        return None
    if kind is Block.KILLING:
        task = "calico-node" if stage is Stage.STOP_NODE else "etcd proxy"
        return f"waiting for the {task} task to stop"
    if kind is Block.HALTED:
        return f"uninstall halted: more than {policy.max_failed} agent(s) failed"
    if kind is Block.PAUSED:
        return pause_reason(control, "uninstall")
    if kind is Block.BACKOFF and rec.backoff_until is not None:
        return (f"uninstall failed ({rec.message or 'no message'}); backing off until "
                f"{timestamp(rec.backoff_until)}")
    if kind is Block.BUDGET:
        holders = name_agents(hostname_of(a) for a in gates.holders)
        return (f"waiting for a restart slot to {_WHAT[stage]}: held by {holders} "
                f"(max_concurrent_restarts={policy.max_concurrent_restarts})")
    return (f"waiting for a free slot to stop the etcd proxy: {len(gates.in_flight)} agents "
            f"are stopping theirs (max_parallel={policy.max_parallel})")
