"""`GET /metrics` through prometheus_client: two custom collectors, one exposition.

`StatusCollector` derives gauges about agents, steps, the restart budget and the rollout
state from the status document, so they always agree with the page. `SchedulerCollector`
exports the counters only the scheduler can know (offers received/declined/accepted,
suppress and revive calls, etcd errors), named in `SCHEDULER_COUNTERS`, from its
`MetricsSource`. prometheus_client does the escaping and the format, and answers in
OpenMetrics when the scraper asks for it (`Accept`), like its own exporters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from web.contracts import AGENT_STATES, ROLLOUT_STATES, STEP_STATES, Document, MetricsSource

PREFIX = "calico_dcos_"

SCHEDULER_COUNTERS = {
    "calico_dcos_offers_received_total": "Resource offers received from the master.",
    "calico_dcos_offers_declined_total": "Resource offers declined.",
    "calico_dcos_offers_accepted_total": "Resource offers accepted to launch tasks.",
    "calico_dcos_suppress_total": "Times offers were suppressed.",
    "calico_dcos_revive_total": "Times offers were revived.",
    "calico_dcos_etcd_errors_total": "Failed etcd requests.",
}

# Gauges present only when the document has a number for them: (name, help, where).
_OPTIONAL_GAUGES = (
    ("restart_slots", "Maximum concurrent disruptive steps.",
     ("rollout", "budget", "max_concurrent_restarts")),
    ("rollout_eta_seconds", "Estimated seconds until the rollout completes.",
     ("rollout", "eta_s")),
    ("rollout_started_timestamp_seconds", "When the rollout started.",
     ("rollout", "started_at")),
    ("status_generated_timestamp_seconds", "When the status was derived.",
     ("generated_at",)),
)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _lookup(document: Document, path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


class StatusCollector(Collector):
    """Gauges computed from the status document at each scrape."""

    def __init__(self, status: Callable[[], Document]) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        document = self.status()
        agents = document.get("agents", ())
        rollout = document.get("rollout", {})
        by_state = Counter(agent.get("state") for agent in agents)
        steps = Counter((step.get("name"), step.get("state"))
                        for agent in agents for step in agent.get("steps", ()))

        family = GaugeMetricFamily(f"{PREFIX}agents", "Agents by rollout state.",
                                   labels=["state"])
        for state in AGENT_STATES:
            family.add_metric([state], by_state[state])
        yield family

        family = GaugeMetricFamily(f"{PREFIX}steps", "Per-agent steps by step name and state.",
                                   labels=["step", "state"])
        for name in sorted({name for name, _ in steps if isinstance(name, str)}):
            for state in STEP_STATES:
                family.add_metric([name, state], steps[(name, state)])
        yield family

        family = GaugeMetricFamily(f"{PREFIX}rollout_state",
                                   "1 for the current rollout state, 0 for the others.",
                                   labels=["state"])
        for state in ROLLOUT_STATES:
            family.add_metric([state], int(rollout.get("state") == state))
        yield family

        in_use = _number(_lookup(document, ("rollout", "budget", "in_use"))) or 0
        yield GaugeMetricFamily(f"{PREFIX}restarts_in_progress",
                                "Agents holding a disruption (restart) slot.", value=in_use)
        for name, help_text, path in _OPTIONAL_GAUGES:
            value = _number(_lookup(document, path))
            if value is not None:
                yield GaugeMetricFamily(f"{PREFIX}{name}", help_text, value=value)


class SchedulerCollector(Collector):
    """The scheduler's own counters; a name the source does not give reads 0."""

    def __init__(self, source: MetricsSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        values = self.source()
        for name, help_text in SCHEDULER_COUNTERS.items():
            yield CounterMetricFamily(name, help_text, value=float(values.get(name, 0)))


def exposition(status: Callable[[], Document], source: MetricsSource,
               accept: str | None) -> tuple[bytes, str]:
    """The scrape body and its content type for a request's `Accept` header."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(status))
    registry.register(SchedulerCollector(source))
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
