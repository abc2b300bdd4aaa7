"""`GET /metrics` in the Prometheus text exposition format (version 0.0.4).

Gauges about agents, steps, the restart budget and the rollout state are derived here from
the status document, so they always agree with the page. Counters only the scheduler can
know (offers received/declined/accepted, suppress and revive calls, etcd errors, ...) come
from its `MetricsSource`; the expected names are listed in `SCHEDULER_COUNTERS`.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from web.contracts import AGENT_STATES, ROLLOUT_STATES, STEP_STATES, Document, Metric

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "calico_dcos_"

SCHEDULER_COUNTERS = {
    "calico_dcos_offers_received_total": "Resource offers received from the master.",
    "calico_dcos_offers_declined_total": "Resource offers declined.",
    "calico_dcos_offers_accepted_total": "Resource offers accepted to launch tasks.",
    "calico_dcos_suppress_total": "Times offers were suppressed.",
    "calico_dcos_revive_total": "Times offers were revived.",
    "calico_dcos_etcd_errors_total": "Failed etcd requests.",
}

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _is_valid(metric: Metric) -> bool:
    if not _NAME.match(metric.name) or metric.kind not in ("counter", "gauge"):
        return False
    return all(_LABEL.match(key) for labels, _ in metric.samples for key in labels)


def render(metrics: Iterable[Metric]) -> str:
    """The exposition text for `metrics`; families with invalid names are dropped, logged."""
    lines: list[str] = []
    for metric in metrics:
        if not _is_valid(metric):
            log.warning("dropping metric with an invalid name, kind or label: %r", metric.name)
            continue
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            label_text = ",".join(
                f'{key}="{_escape_label_value(str(val))}"' for key, val in sorted(labels.items())
            )
            selector = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{metric.name}{selector} {_format_value(value)}")
    return "\n".join(lines) + "\n"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def derived_metrics(document: Document) -> list[Metric]:
    """Gauges computed from the status document."""
    agents = document.get("agents", ())
    rollout = document.get("rollout", {})
    by_state = Counter(agent.get("state") for agent in agents)
    steps = Counter(
        (step.get("name"), step.get("state")) for agent in agents for step in agent.get("steps", ())
    )
    step_names = sorted({name for name, _ in steps if isinstance(name, str)})
    budget = rollout.get("budget") or {}
    metrics = [
        Metric(
            f"{PREFIX}agents",
            "gauge",
            "Agents by rollout state.",
            tuple(({"state": state}, by_state[state]) for state in AGENT_STATES),
        ),
        Metric(
            f"{PREFIX}steps",
            "gauge",
            "Per-agent steps by step name and state.",
            tuple(
                ({"step": name, "state": state}, steps[(name, state)])
                for name in step_names
                for state in STEP_STATES
            ),
        ),
        Metric(
            f"{PREFIX}rollout_state",
            "gauge",
            "1 for the current rollout state, 0 for the others.",
            tuple(
                ({"state": state}, int(rollout.get("state") == state)) for state in ROLLOUT_STATES
            ),
        ),
        Metric.single(
            f"{PREFIX}restarts_in_progress",
            "gauge",
            "Agents holding a disruption (restart) slot.",
            _number(budget.get("in_use")) or 0,
        ),
    ]
    optional = (
        ("restart_slots", "Maximum concurrent disruptive steps.", "max_concurrent_restarts"),
        ("rollout_eta_seconds", "Estimated seconds until the rollout completes.", "eta_s"),
        ("rollout_started_timestamp_seconds", "When the rollout started.", "started_at"),
        ("status_generated_timestamp_seconds", "When the status was derived.", "generated_at"),
    )
    sources = {
        "max_concurrent_restarts": budget.get("max_concurrent_restarts"),
        "eta_s": rollout.get("eta_s"),
        "started_at": rollout.get("started_at"),
        "generated_at": document.get("generated_at"),
    }
    for name, help_text, key in optional:
        value = _number(sources[key])
        if value is not None:
            metrics.append(Metric.single(f"{PREFIX}{name}", "gauge", help_text, value))
    return metrics


def collect(document: Document, scheduler_metrics: Iterable[Metric]) -> list[Metric]:
    """Derived gauges followed by the scheduler's metrics, minus any that reuse a derived name."""
    derived = derived_metrics(document)
    taken = {metric.name for metric in derived}
    result = list(derived)
    for metric in scheduler_metrics:
        if metric.name in taken:
            log.warning("scheduler metric %s duplicates a derived one; ignored", metric.name)
            continue
        taken.add(metric.name)
        result.append(metric)
    return result


def scheduler_counters(values: Mapping[str, float]) -> list[Metric]:
    """Convenience for the scheduler: counter families from `{name: value}` using the help
    texts of `SCHEDULER_COUNTERS` (unknown names get a generic help text)."""
    return [
        Metric.single(name, "counter", SCHEDULER_COUNTERS.get(name, "Scheduler counter."), value)
        for name, value in values.items()
    ]
