"""Presentation helpers for the server-rendered page: the rollout summary. Durations, ages
and a step's latest message are worded by `operator_cli.wording`, shared with the command
line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from web.contracts import Document


@dataclass(frozen=True)
class Summary:
    """What the summary panel shows, derived from the whole-cluster status document."""

    state: str
    reason: str | None
    paused: bool
    paused_by: str | None
    paused_at: float | None
    paused_why: str | None
    counts: Mapping[str, int]
    gone: int
    slots_in_use: int
    slots_max: int | None
    slot_holders: Sequence[str]
    elapsed_s: float | None
    eta_s: float | None

    @property
    def headline(self) -> str:
        return f"{self.counts.get('complete', 0)} of {self.counts.get('total', 0)} agents complete"

    @property
    def percent(self) -> int:
        total = self.counts.get("total", 0)
        return int(100 * self.counts.get("complete", 0) / total) if total else 0


def summarize(document: Document, now: float) -> Summary:
    rollout = document.get("rollout", {})
    control = rollout.get("control") or {}
    budget = rollout.get("budget") or {}
    names = {agent.get("id"): agent.get("hostname") for agent in document.get("agents", ())}
    holders = [names.get(agent_id) or agent_id for agent_id in budget.get("holders", ())]
    started = rollout.get("started_at")
    finished = rollout.get("completed_at")
    elapsed = None if started is None else (finished or now) - started
    return Summary(
        state=rollout.get("state", "in_progress"),
        reason=rollout.get("reason"),
        paused=bool(control.get("paused")),
        paused_by=control.get("by") if control.get("paused") else None,
        paused_at=control.get("at") if control.get("paused") else None,
        paused_why=control.get("why") if control.get("paused") else None,
        counts=rollout.get("counts", {}),
        gone=rollout.get("gone", 0),
        slots_in_use=budget.get("in_use", len(holders)),
        slots_max=budget.get("max_concurrent_restarts"),
        slot_holders=holders,
        elapsed_s=elapsed,
        eta_s=rollout.get("eta_s"),
    )
