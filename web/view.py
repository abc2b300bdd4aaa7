"""Presentation helpers for the server-rendered page: the rollout summary, readiness and the
uninstall. Durations, ages and a step's latest message are worded by `operator_cli.wording`,
shared with the command line; `static/console.js` words the refreshed page the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from operator_cli.wording import age
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
    gone_retention_s: float | None  # how long a gone agent's record is kept
    slots_in_use: int
    slots_max: int | None
    slot_holders: Sequence[str]
    elapsed_s: float | None
    eta_s: float | None
    unit_restarts: int = 0
    uninstalling: bool = False
    readiness: str | None = None
    uninstall: str | None = None

    @property
    def headline(self) -> str:
        done = "uninstalled" if self.uninstalling else "complete"
        return f"{self.counts.get('complete', 0)} of {self.counts.get('total', 0)} agents {done}"

    @property
    def percent(self) -> int:
        total = self.counts.get("total", 0)
        return int(100 * self.counts.get("complete", 0) / total) if total else 0


def readiness_text(health: Mapping[str, Any] | None) -> str | None:
    """Why this scheduler is not ready (and what that means), or None when it is."""
    if not health or health.get("ok", True):
        return None
    reasons = "; ".join(health.get("reasons") or ()) or "unknown"
    return (f"Not ready: {reasons}. Nothing new is decided or launched until this clears; "
            "tasks already running go on, and this page shows the last recorded state.")


def uninstall_text(document: Document, now: float) -> str | None:
    """What the uninstall is doing, and which agents keep Calico; None when installing."""
    uninstall = document.get("rollout", {}).get("uninstall")
    if not uninstall:
        return None
    skipped = [a.get("hostname") or a.get("id") for a in uninstall.get("skipped") or ()]
    stays = f" Skipped by an operator, Calico stays on: {', '.join(skipped)}." if skipped else ""
    if document.get("framework", {}).get("torn_down"):
        return ("Calico is uninstalled: the framework is torn down and its state removed "
                f"from etcd; DC/OS removes this service next.{stays}")
    return (f"Uninstalling Calico (requested by {uninstall.get('requested_by')} "
            f"{age(uninstall.get('requested_at'), now)}: {uninstall.get('why')}): agents are "
            "put back as restart slots allow, and the framework tears itself down once every "
            f"agent is uninstalled or skipped.{stays}")


def summarize(document: Document, now: float,
              health: Mapping[str, Any] | None = None) -> Summary:
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
        gone_retention_s=rollout.get("gone_retention_s"),
        slots_in_use=budget.get("in_use", len(holders)),
        slots_max=budget.get("max_concurrent_restarts"),
        slot_holders=holders,
        elapsed_s=elapsed,
        eta_s=rollout.get("eta_s"),
        unit_restarts=rollout.get("unit_restarts", 0),
        uninstalling=rollout.get("mode") == "uninstall",
        readiness=readiness_text(health),
        uninstall=uninstall_text(document, now),
    )
