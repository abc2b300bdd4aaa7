"""The status document of docs/status-api.md, derived from the records alone (plus what the
scheduler observed about offers since it started). While uninstalling, the same document
describes the uninstall plan (`rollout.mode` says which)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from framework.engine.plan import (
    STEP_CALICO_NODE,
    STEP_ETCD_PROXY,
    STEP_UNINSTALL,
    STEP_VERIFY,
    Plan,
    StepSpec,
)
from framework.engine.policy import Policy
from framework.engine.progress import (
    AGENT_COMPLETE,
    AGENT_FAILED,
    AGENT_GONE,
    AGENT_IN_PROGRESS,
    AGENT_PENDING,
    AgentFacts,
    Gates,
    agent_facts,
)
from framework.engine.reasons import halt_reason, pause_reason, waiting_reason
from framework.engine.records import AgentRecord, RolloutControl, StepRecord
from framework.engine.reports import RESTARTED
from framework.engine.steps import Phase, step_phase
from framework.engine.tasks import LAUNCHED, TASK_STAGING, TASK_STARTING, is_live
from framework.engine.uninstall import (
    STOP_NODE,
    STOP_PROXY,
    needs_uninstall,
    uninstall_facts,
    uninstall_waiting_reason,
)

ROLLOUT_IN_PROGRESS = "in_progress"
ROLLOUT_COMPLETE = "complete"
ROLLOUT_PAUSED = "paused"
ROLLOUT_HALTED = "halted"

MODE_INSTALL = "install"
MODE_UNINSTALL = "uninstall"

STEP_PENDING = "pending"
STEP_STAGING = "staging"
STEP_RUNNING = "running"
STEP_COMPLETE = "complete"
STEP_FAILED = "failed"
STEP_SKIPPED = "skipped"
STEP_BACKOFF = "backoff"

# The document's vocabulary (docs/status-api.md); web/ takes it from here.
ROLLOUT_STATES = (ROLLOUT_IN_PROGRESS, ROLLOUT_COMPLETE, ROLLOUT_PAUSED, ROLLOUT_HALTED)
MODES = (MODE_INSTALL, MODE_UNINSTALL)
STEP_STATES = (STEP_PENDING, STEP_STAGING, STEP_RUNNING, STEP_COMPLETE, STEP_FAILED,
               STEP_SKIPPED, STEP_BACKOFF)

_STAGING_STATES = frozenset({LAUNCHED, TASK_STAGING, TASK_STARTING})
_PHASE_STATES = {
    Phase.COMPLETE: STEP_COMPLETE,
    Phase.SKIPPED: STEP_SKIPPED,
    Phase.FAILED: STEP_FAILED,
}
_DEFAULT_FRAMEWORK = {"name": None, "id": None, "subscribed": False, "leader": False,
                      "torn_down": False}


@dataclass(frozen=True)
class Observations:
    """In-memory observations of this scheduler run: when each agent last offered, and
    what its last unusable offer lacked."""

    last_offer_at: Mapping[str, float] = field(default_factory=dict)
    offer_notes: Mapping[str, str] = field(default_factory=dict)


def step_state(spec: StepSpec, rec: StepRecord, phase: Phase, now: float) -> str:
    if phase in _PHASE_STATES:
        return _PHASE_STATES[phase]
    if is_live(rec.task_state):
        return STEP_STAGING if rec.task_state in _STAGING_STATES else STEP_RUNNING
    if rec.backoff_until is not None and now < rec.backoff_until:
        return STEP_BACKOFF
    return STEP_PENDING


def unit_restarts(agent: AgentRecord) -> int:
    """Units the installer reports it restarted on this agent (`restarted` changes in the
    reports of each step's current and kept earlier tasks)."""
    tasks = [task for rec in agent.steps.values()
             for task in (rec.current_task(), *rec.history) if task is not None]
    return sum(change.action == RESTARTED
               for task in tasks if task.report is not None for change in task.report.changes)


def status_document(
    plan: Plan,
    policy: Policy,
    agents: Iterable[AgentRecord],
    control: RolloutControl,
    now: float,
    framework: Mapping[str, Any] | None = None,
    observations: Observations | None = None,
) -> dict[str, Any]:
    """The whole `GET /v1/status` document (without paging), as plain JSON-ready data."""
    seen = observations or Observations()
    uninstalling = control.uninstalling
    what = MODE_UNINSTALL if uninstalling else "rollout"
    facts_of = uninstall_facts if uninstalling else agent_facts
    records = sorted(agents, key=lambda a: (a.hostname, a.agent_id))
    facts = {a.agent_id: facts_of(plan, policy, a) for a in records}
    hostnames = {a.agent_id: a.hostname for a in records}
    holders = sorted(a for a, f in facts.items() if f.holder)
    failed = [a.hostname for a in records if facts[a.agent_id].halting]
    gates = Gates(
        paused=control.paused,
        halted=policy.is_halted(len(failed)),
        holders=holders,
        in_flight={a for a, f in facts.items() if f.in_flight},
    )
    counts = {s: 0 for s in (AGENT_COMPLETE, AGENT_IN_PROGRESS, AGENT_PENDING, AGENT_FAILED)}
    gone = 0
    for f in facts.values():
        if f.state == AGENT_GONE:
            gone += 1
        else:
            counts[f.state] += 1
    total = sum(counts.values())
    if gates.halted:
        state, reason = ROLLOUT_HALTED, halt_reason(policy, failed, what)
    elif control.paused:
        state, reason = ROLLOUT_PAUSED, pause_reason(control, what)
    elif (total or uninstalling) and counts[AGENT_COMPLETE] == total:
        state, reason = ROLLOUT_COMPLETE, None
    else:
        state, reason = ROLLOUT_IN_PROGRESS, None
    live = [a for a in records if facts[a.agent_id].state != AGENT_GONE]
    specs = (plan.uninstall,) if uninstalling else plan.steps
    started_at, completed_at, eta_s = _timing(specs, policy, live, facts, state, counts)
    agent_docs = [
        _agent_doc(plan, policy, a, facts[a.agent_id], gates, now, hostnames, control, seen)
        for a in records
    ]
    restarts = sum(doc["unit_restarts"] for doc in agent_docs)
    return {
        "framework": {**_DEFAULT_FRAMEWORK, **(framework or {})},
        "rollout": {
            "mode": MODE_UNINSTALL if uninstalling else MODE_INSTALL,
            "state": state,
            "reason": reason,
            "control": control.to_dict(),
            "counts": {"total": total, **counts},
            "gone": gone,
            "gone_retention_s": policy.gone_retention_s,
            "budget": {
                "max_concurrent_restarts": policy.max_concurrent_restarts,
                "in_use": len(holders),
                "holders": holders,
            },
            "failure_budget": {"max_failed": policy.max_failed, "failed": len(failed)},
            "unit_restarts": restarts,
            "started_at": started_at,
            "completed_at": completed_at,
            "eta_s": eta_s,
            "config_hash": plan.config_hash,
            "uninstall": _uninstall_doc(plan, policy, control, live),
        },
        "agents": agent_docs,
        "generated_at": now,
    }


def _uninstall_doc(plan: Plan, policy: Policy, control: RolloutControl,
                   agents: Iterable[AgentRecord]) -> dict[str, Any] | None:
    """Who asked for the uninstall, and the agents an operator skipped (Calico stays there)."""
    if control.uninstall is None:
        return None
    skipped = [
        {"id": a.agent_id, "hostname": a.hostname} for a in agents
        if step_phase(plan.uninstall, a.step(STEP_UNINSTALL), policy.retry) is Phase.SKIPPED
    ]
    note = control.uninstall
    return {"requested_by": note.by, "requested_at": note.at, "why": note.why,
            "skipped": skipped}


def _agent_doc(
    plan: Plan,
    policy: Policy,
    agent: AgentRecord,
    facts: AgentFacts,
    gates: Gates,
    now: float,
    hostnames: Mapping[str, str],
    control: RolloutControl,
    seen: Observations,
) -> dict[str, Any]:
    uninstalling = control.uninstalling
    if uninstalling:
        steps = _uninstall_steps(plan, policy, agent, now)
    else:
        steps = [_step_doc(spec, agent.step(spec.name), policy, now) for spec in plan.steps]
    reasons = uninstall_waiting_reason if uninstalling else waiting_reason
    reason = reasons(
        plan,
        policy,
        agent,
        facts,
        gates,
        now,
        lambda agent_id: hostnames.get(agent_id, agent_id),
        control,
        seen.last_offer_at,
        seen.offer_notes,
    )
    return {
        "id": agent.agent_id,
        "hostname": agent.hostname,
        "role": agent.role,
        "state": facts.state,
        "waiting_reason": reason,
        "holds_restart_slot": facts.holder,
        "unit_restarts": unit_restarts(agent),
        "network": network_doc(plan, policy, agent),
        "steps": steps,
    }


NETWORK_VERIFIED = "verified"
NETWORK_FAILED = "failed"
NETWORK_VERIFYING = "verifying"
NETWORK_UNVERIFIED = "unverified"
NETWORK_SKIPPED = "skipped"


def network_doc(plan: Plan, policy: Policy, agent: AgentRecord) -> dict[str, Any] | None:
    """What the verify step proved on this agent for the current config: the address its
    task got on the Calico network and when, or the latest error in one line. None when
    the plan has no verify step."""
    spec = plan.spec(STEP_VERIFY)
    if spec is None:
        return None
    rec = agent.step(spec.name)
    phase = step_phase(spec, rec, policy.retry)
    current = rec.task_hash == spec.target_hash
    if phase is Phase.COMPLETE:
        state = NETWORK_VERIFIED
    elif phase is Phase.FAILED:
        state = NETWORK_FAILED
    elif phase is Phase.SKIPPED:
        state = NETWORK_SKIPPED
    elif current and (is_live(rec.task_state) or rec.backoff_until is not None):
        state = NETWORK_VERIFYING
    else:
        state = NETWORK_UNVERIFIED
    failed_last = current and phase is not Phase.COMPLETE and rec.failures > 0
    return {
        "state": state,
        "ip": rec.address if current else None,
        "at": rec.updated_at if phase is Phase.COMPLETE else None,
        "error": one_line(rec.message) if failed_last and rec.message else None,
    }


def one_line(text: str) -> str:
    """The first non-empty line of a message, for a table cell."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _step_doc(spec: StepSpec, rec: StepRecord, policy: Policy, now: float) -> dict[str, Any]:
    phase = step_phase(spec, rec, policy.retry)
    return {
        "name": spec.name,
        "state": step_state(spec, rec, phase, now),
        "task_id": rec.task_id,
        "attempts": rec.attempts,
        "message": rec.message,
        "updated_at": rec.updated_at,
        "disruptive": spec.disruptive,
        "target_hash": spec.target_hash,
        "needs_restart": spec.disruptive and rec.restart_hash == spec.target_hash,
        "restart_reason": rec.restart_reason if rec.restart_hash == spec.target_hash else None,
    }


def _uninstall_steps(plan: Plan, policy: Policy, agent: AgentRecord,
                     now: float) -> list[dict[str, Any]]:
    """While uninstalling: the uninstall step between stop-calico-node and stop-etcd-proxy
    (each listed where that task ever ran, `complete` once it stopped)."""
    entries = []
    for name, stop in ((STEP_CALICO_NODE, STOP_NODE), (STEP_UNINSTALL, None),
                       (STEP_ETCD_PROXY, STOP_PROXY)):
        rec = agent.step(name)
        if stop is None:
            entry = _step_doc(plan.uninstall, rec, policy, now)
            if not needs_uninstall(agent):
                entry["state"] = STEP_COMPLETE
                entry["message"] = "nothing to remove: no task of this framework ran here"
            entries.append(entry)
            continue
        if rec.task_id is None:
            continue
        state = STEP_COMPLETE
        if is_live(rec.task_state):
            state = STEP_RUNNING if rec.kill_requested else STEP_PENDING
        entries.append({
            "name": stop, "state": state, "task_id": rec.task_id, "attempts": 0,
            "message": rec.message, "updated_at": rec.updated_at,
            "disruptive": stop == STOP_NODE, "target_hash": None,
        })
    return entries


def _timing(
    specs: Iterable[StepSpec],
    policy: Policy,
    agents: list[AgentRecord],
    facts: Mapping[str, AgentFacts],
    state: str,
    counts: Mapping[str, int],
) -> tuple[float | None, float | None, float | None]:
    """(started_at, completed_at, eta_s) of the rollout of the current targets."""
    starts: list[float] = []
    durations: list[float] = []
    last_update: float | None = None
    for agent in agents:
        current = [(spec, agent.step(spec.name)) for spec in specs]
        launched = [
            rec.launched_at
            for spec, rec in current
            if rec.task_hash == spec.target_hash and rec.launched_at is not None
        ]
        updates = [r.updated_at for r in agent.steps.values() if r.updated_at is not None]
        if launched:
            starts.append(min(launched))
        if updates:
            last_update = max(updates) if last_update is None else max(last_update, *updates)
        if launched and updates and facts[agent.agent_id].state == AGENT_COMPLETE:
            durations.append(max(updates) - min(launched))
    started_at = min(starts) if starts else None
    completed_at = last_update if state == ROLLOUT_COMPLETE else None
    remaining = counts[AGENT_PENDING] + counts[AGENT_IN_PROGRESS]
    eta_s = None
    if state == ROLLOUT_IN_PROGRESS and durations and remaining:
        waves = math.ceil(remaining / policy.max_concurrent_restarts)
        eta_s = round(sum(durations) / len(durations) * waves, 1)
    return started_at, completed_at, eta_s
