"""The performance targets of docs/benchmarks.md, and how a figure is checked against one."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    text: str
    holds: Callable[[float], bool]


def at_most(limit: float) -> Target:
    return Target(f"<= {limit:g}", lambda value: operator.le(value, limit))


def below(limit: float) -> Target:
    return Target(f"< {limit:g}", lambda value: operator.lt(value, limit))


def at_least(limit: float) -> Target:
    return Target(f">= {limit:g}", lambda value: operator.ge(value, limit))


SINGLE_SLOT_OVERHEAD = at_most(1.10)
MULTI_SLOT_OVERHEAD = at_most(1.25)
# "Near 0": a converged framework is suppressed; one offer a minute allows for a revive
# racing the suppress.
CONVERGED_OFFERS_PER_MIN = at_most(1.0)

TARGETS: dict[str, Target] = {
    "engine_offer_decisions_per_s": at_least(20_000),
    "engine_cpu_s_full_rollout": below(10.0),
    "status_p99_ms_page": below(100.0),
    "status_p99_ms_full": below(250.0),
    "scheduler_rss_mb": below(200.0),
    "etcd_writes_per_step_transition": at_most(2.0),
    "recovery_s": below(5.0),
    "scheduler_idle_cpu_pct": below(2.0),
    "offers_per_min_converged": CONVERGED_OFFERS_PER_MIN,
}


# An install disrupts nothing the platform takes live: a fresh install restarts no unit and
# loses no workload; a cluster-store change with live-restore loses none; both roll out
# within 1.10 x their ideal (docs/benchmarks.md, "Disruption").
DISRUPTION_TARGETS: dict[str, Target] = {
    "fresh_install_unit_restarts": at_most(0),
    "fresh_install_workload_lost": at_most(0),
    "fresh_install_overhead_ratio": SINGLE_SLOT_OVERHEAD,
    "cluster_store_change_overhead_ratio": SINGLE_SLOT_OVERHEAD,
    "cluster_store_change_live_restore_workload_lost": at_most(0),
    "cluster_store_change_live_restore_overhead_ratio": SINGLE_SLOT_OVERHEAD,
}


# During a rollout, offers are bounded by the capacities, whatever the number of agents:
# at most one offer per allocation cycle (one a second) for each restart slot's holder, each
# of the next agents in line for a slot, and each agent under the parallel cap.
OFFERS_PER_SLOT_PER_MIN = 60.0
# ... and, on the 100-agent cluster and larger, at most a tenth of what a framework
# declining without filters receives (on a few agents the launches alone weigh more).
BASELINE_SHARE = 0.1
BASELINE_AGENTS = 100


def offers_bound_per_min(budget: int, max_parallel: int) -> float:
    return OFFERS_PER_SLOT_PER_MIN * (2 * budget + max_parallel)


def rollout_offers_target(budget: int, max_parallel: int, baseline: float | None = None,
                          agents: int = 0) -> Target:
    """At most 60 x (2k + max_parallel) offers a minute, and at most a tenth of the
    unfiltered baseline measured on `agents` agents, from 100 agents on."""
    limit = offers_bound_per_min(budget, max_parallel)
    if baseline is not None and agents >= BASELINE_AGENTS:
        limit = min(limit, BASELINE_SHARE * baseline)
    return at_most(round(limit, 1))


def overhead_target(budget: int) -> Target:
    """The issue's targets: 1.10 for one restart slot (N = 100, k = 1), 1.25 for several
    (N = 1,000, k = 10)."""
    return SINGLE_SLOT_OVERHEAD if budget == 1 else MULTI_SLOT_OVERHEAD
