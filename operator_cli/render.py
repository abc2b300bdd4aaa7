"""The status document as terminal text: the summary and agents, one agent's tasks, and the
plan (each agent's steps and what it waits for). Cluster data is shown escaped, never
interpreted by the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from operator_cli.wording import age, duration, last_message, network_text

MAX_CELL = 60


def printable(value: object) -> str:
    """`value` as one terminal-safe line: control characters (escape sequences, newlines)
    from cluster data are shown escaped instead of being interpreted by the terminal."""
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _cell(value: object) -> str:
    text = printable(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in lines
    )


def _steps_text(agent: Mapping[str, Any]) -> str:
    parts = []
    for step in agent.get("steps", ()):
        attempts = step.get("attempts") or 0
        suffix = f"×{attempts}" if attempts > 1 else ""
        parts.append(f"{step.get('name')}:{step.get('state')}{suffix}")
    return " ".join(parts)


def render_status(document: Mapping[str, Any], now: float) -> str:
    rollout = document.get("rollout", {})
    counts = rollout.get("counts", {})
    budget = rollout.get("budget") or {}
    control = rollout.get("control") or {}
    framework = document.get("framework", {})
    names = {a.get("id"): a.get("hostname") for a in document.get("agents", ())}
    holders = ", ".join(printable(names.get(h) or h) for h in budget.get("holders", ()))
    started = rollout.get("started_at")
    elapsed = None if started is None else (rollout.get("completed_at") or now) - started
    state = printable(rollout.get("state", "?")).replace("_", " ")
    lines = [
        f"{printable(framework.get('name', 'calico'))}: {state}, "
        f"{counts.get('complete', 0)} of {counts.get('total', 0)} agents complete",
        f"in progress {counts.get('in_progress', 0)} · pending {counts.get('pending', 0)} · "
        f"failed {counts.get('failed', 0)} · gone {rollout.get('gone', 0)} · restart slots "
        f"{budget.get('in_use', 0)} of {budget.get('max_concurrent_restarts', '?')}"
        + (f" ({holders})" if holders else ""),
        f"elapsed {duration(elapsed)} · ETA {duration(rollout.get('eta_s'))}",
    ]
    if control.get("paused"):
        lines.append(
            f"paused by {printable(control.get('by'))} {age(control.get('at'), now)}: "
            f"{printable(control.get('why'))}"
        )
    elif rollout.get("reason"):
        lines.append(printable(rollout["reason"]))
    rows = []
    for agent in document.get("agents", ()):
        last = last_message(agent)
        rows.append(
            [
                _cell(agent.get("hostname")),
                _cell(agent.get("id")),
                _cell(agent.get("role")),
                _cell(str(agent.get("state", "")).replace("_", " ")),
                _cell(_steps_text(agent)),
                _cell(network_text(agent.get("network"), now)),
                _cell(f"{last.text} ({age(last.at, now)})" if last else ""),
                _cell(agent.get("waiting_reason")),
            ]
        )
    headers = ["HOST", "AGENT", "ROLE", "STATE", "STEPS", "NETWORK", "LAST MESSAGE",
               "WAITING FOR"]
    page = document.get("page")
    footer = []
    if page and page.get("total", 0) > len(rows):
        footer = [f"showing {len(rows)} of {page['total']} matching agents"]
    return "\n".join([*lines, "", table(headers, rows), *footer])


def render_agent(agent: Mapping[str, Any], now: float) -> str:
    lines = [
        f"{printable(agent.get('hostname'))}  {printable(agent.get('id'))}  "
        f"{printable(agent.get('role'))}  {printable(agent.get('state')).replace('_', ' ')}",
    ]
    if agent.get("waiting_reason"):
        lines.append(f"waiting for: {printable(agent['waiting_reason'])}")
    if agent.get("network"):
        lines.append(f"network: {printable(network_text(agent['network'], now))}")
    rows = []
    for step in agent.get("steps", ()):
        history = step.get("history") or [
            {"task_id": step.get("task_id"), "state": step.get("state"),
             "attempt": step.get("attempts"), "message": step.get("message"),
             "updated_at": step.get("updated_at")}
        ]
        for task in history:
            report = task.get("report") or {}
            rows.append(
                [
                    _cell(step.get("name")),
                    _cell(task.get("task_id") or "-"),
                    _cell(task.get("state")),
                    _cell(task.get("attempt")),
                    _cell(task.get("message")),
                    _cell(report.get("summary")),
                    age(task.get("updated_at"), now),
                ]
            )
    headers = ["STEP", "TASK", "STATE", "ATTEMPT", "MESSAGE", "ON THE HOST", "UPDATED"]
    lines += ["", table(headers, rows)]
    events = agent.get("events") or []
    if events:
        lines += ["", "recent events:"]
        lines += [
            f"  {age(e.get('at'), now)}  {printable(e.get('kind'))}  {printable(e.get('message'))}"
            for e in events
        ]
    return "\n".join(lines)


def render_plan(document: Mapping[str, Any], now: float) -> str:
    """Each agent's steps in plan order with their state and message, and what the agent
    waits for: the rollout as a plan, the way `dcos <service> plan` shows SDK services."""
    rollout = document.get("rollout", {})
    counts = rollout.get("counts", {})
    framework = document.get("framework", {})
    state = printable(rollout.get("state", "?")).replace("_", " ")
    lines = [f"{printable(framework.get('name', 'calico'))} plan: {state}, "
             f"{counts.get('complete', 0)} of {counts.get('total', 0)} agents complete"]
    if rollout.get("reason"):
        lines.append(printable(rollout["reason"]))
    for agent in document.get("agents", ()):
        slot = ", holds a restart slot" if agent.get("holds_restart_slot") else ""
        lines += ["", f"{printable(agent.get('hostname'))} ({printable(agent.get('id'))}, "
                      f"{printable(agent.get('role'))}): "
                      f"{printable(agent.get('state')).replace('_', ' ')}{slot}"]
        steps = agent.get("steps", ())
        width = max([len(printable(s.get("name"))) for s in steps] or [0])
        for step in steps:
            attempts = step.get("attempts") or 0
            tried = f" (attempt {attempts})" if attempts > 1 else ""
            message = f": {printable(step.get('message'))}" if step.get("message") else ""
            lines.append(f"  {printable(step.get('name')).ljust(width)}  "
                         f"{printable(step.get('state'))}{tried}{message}"
                         f" · {age(step.get('updated_at'), now)}")
        if agent.get("waiting_reason"):
            lines.append(f"  waiting for: {printable(agent['waiting_reason'])}")
    page = document.get("page")
    if page and page.get("total", 0) > len(document.get("agents", ())):
        lines += ["", f"showing {len(document.get('agents', ()))} of {page['total']} "
                      "matching agents"]
    return "\n".join(lines)
