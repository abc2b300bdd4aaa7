"""Wording shared by the status page and the command line: durations, ages, a step's latest
message, what the network verification found. `web/static/console.js` words the refreshed
page the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def duration(seconds: float | None) -> str:
    """Human wording of a duration: ``45 s``, ``3 min 20 s``, ``2 h 5 min``; ``—`` if unknown."""
    if seconds is None or seconds < 0:
        return "—"
    whole = int(seconds)
    if whole < MINUTE:
        return f"{whole} s"
    if whole < HOUR:
        return f"{whole // MINUTE} min {whole % MINUTE} s"
    if whole < DAY:
        return f"{whole // HOUR} h {whole % HOUR // MINUTE} min"
    return f"{whole // DAY} d {whole % DAY // HOUR} h"


def age(at: float | None, now: float) -> str:
    return "—" if at is None else f"{duration(max(0.0, now - at))} ago"


@dataclass(frozen=True)
class LastMessage:
    step: str
    text: str
    at: float | None


def last_message(agent: Mapping[str, Any]) -> LastMessage | None:
    """The most recently updated step message of an agent, if any step has one."""
    with_message = [step for step in agent.get("steps", ()) if step.get("message")]
    if not with_message:
        return None
    latest = max(with_message, key=lambda step: step.get("updated_at") or 0)
    return LastMessage(latest.get("name", ""), latest["message"], latest.get("updated_at"))


def network_text(network: Mapping[str, Any] | None, now: float) -> str:
    """An agent's network verification in one line ("" when the plan does not verify)."""
    if not network:
        return ""
    state, error = network.get("state"), network.get("error")
    if state == "verified":
        ip = network.get("ip") or "(no address reported)"
        return f"verified {ip} · {age(network.get('at'), now)}"
    if state == "failed":
        return f"failed: {error or 'no reason given'}"
    if state == "verifying":
        return "verifying" + (f" (last try: {error})" if error else "")
    if state == "skipped":
        return "not verified: skipped by an operator"
    return "not verified yet"
