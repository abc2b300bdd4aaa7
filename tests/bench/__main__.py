"""`python -m tests.bench [--quick | --smoke] [--check] [--mesos-version 1.4|1.8]`: every
benchmark of docs/benchmarks.md.

Prints one line per figure with its target, then one JSON line with every figure (the
last line of the output). `--quick` measures the same things at smaller scale in under three
minutes; `--smoke` at the smallest sizes (for the test that keeps this command working).
`--check` exits 1 when a figure misses its target. `--mesos-version` picks the Mesos the
master emulator answers as (the figures record it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from devcluster.platforms import shipping
from devcluster.versions import DEFAULT_VERSION, VERSIONS
from tests.bench import allocation, disruption, engine_cost, recovery, rollout
from tests.bench.enginesim import simulate_rollout
from tests.bench.targets import (
    DISRUPTION_TARGETS,
    TARGETS,
    Target,
    offers_bound_per_min,
    overhead_target,
    rollout_offers_target,
)


@dataclass(frozen=True)
class Sizes:
    rollouts: tuple[tuple[int, int], ...]  # (agents, budget) of each dev-cluster rollout
    converged_window_s: float
    baseline_window_s: float
    rollout_deadline_s: float
    engine_agents: int
    engine_budget: int
    engine_max_parallel: int
    single_offers: int
    page_requests: int
    full_requests: int
    allocation_agents: int
    allocation_cycles: int
    # (agents, workloads per agent) of the disruption benchmark (fresh install, then a
    # cluster-store change); None: not measured.
    disruption: tuple[int, int] | None = None


FULL = Sizes(rollouts=((100, 1), (1000, 10)), converged_window_s=60.0, baseline_window_s=60.0,
             rollout_deadline_s=7200.0, engine_agents=10_000, engine_budget=100,
             engine_max_parallel=100, single_offers=50_000, page_requests=200,
             full_requests=30, allocation_agents=1000, allocation_cycles=7,
             disruption=(100, 2))
QUICK = Sizes(rollouts=((4, 2),), converged_window_s=10.0, baseline_window_s=13.0,
              rollout_deadline_s=120.0, engine_agents=1000, engine_budget=10,
              engine_max_parallel=10, single_offers=20_000, page_requests=50,
              full_requests=10, allocation_agents=500, allocation_cycles=3,
              disruption=(4, 2))
SMOKE = Sizes(rollouts=((2, 2),), converged_window_s=2.0, baseline_window_s=7.0,
              rollout_deadline_s=90.0, engine_agents=200, engine_budget=2,
              engine_max_parallel=10, single_offers=2000, page_requests=10,
              full_requests=3, allocation_agents=50, allocation_cycles=2)

EXIT_TERMINATED = 143
REPO = Path(__file__).resolve().parents[2]
PRODUCT_PATHS = ("framework", "installer", "web", "devcluster")
# Figures taken from the first rollout configuration (the 100-agent cluster).
OFFER_FIGURES = ("offers_per_min_rollout", "offers_per_min_converged",
                 "offers_per_min_rollout_unfiltered_baseline")


def code_version() -> dict:
    """The commit the measured code came from, and product paths changed since (the working
    tree may hold uncommitted work while a benchmark runs)."""
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                check=False)
        return result.stdout.strip()

    changed = git("status", "--porcelain", "--", *PRODUCT_PATHS).splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": sorted(line[3:] for line in changed)}


def progress(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run(sizes: Sizes, work_dir: Path, mesos_version: str = DEFAULT_VERSION
        ) -> tuple[dict, list[str]]:
    """All figures (the JSON document) and the human-readable report lines, against the
    master emulator answering as `mesos_version`."""
    lines: list[str] = []
    configurations: list[dict] = []
    figures: dict = {}

    figures["code"] = code_version()
    figures["mesos_version"] = mesos_version
    progress(f"allocation cycle, {sizes.allocation_agents} agents, Mesos {mesos_version}")
    costs = allocation.measure(sizes.allocation_agents, sizes.allocation_cycles,
                               mesos_version)
    figures["allocation_cycle_ms"] = round(sorted(costs)[len(costs) // 2], 2)
    configurations.append({"figures": ["allocation_cycle_ms"],
                           "agents": sizes.allocation_agents, "budget": 0})

    progress(f"allocation: {json.dumps(configurations[-1])} {figures['allocation_cycle_ms']} ms")
    progress(f"engine, {sizes.engine_agents} agents, budget {sizes.engine_budget}")
    sim = simulate_rollout(sizes.engine_agents, sizes.engine_budget, sizes.engine_max_parallel)
    figures["engine_offer_decisions_per_s"] = round(
        engine_cost.offer_decisions_per_s(sim, sizes.single_offers))
    figures["engine_cpu_s_full_rollout"] = round(sim.engine_cpu_s, 3)
    figures["engine_offers_per_min_rollout"] = round(sim.offers_per_min, 1)
    configurations.append({
        "figures": ["engine_offer_decisions_per_s", "engine_cpu_s_full_rollout",
                    "engine_offers_per_min_rollout"],
        "target_offers_per_min": rollout_offers_target(sim.budget, sim.max_parallel,
                                                       None).text,
        "agents": sim.agents, "budget": sim.budget, "max_parallel": sim.max_parallel,
        "rollout_offers": sim.offers, "rollout_decisions": sim.decisions,
        "rollout_simulated_s": round(sim.simulated_s, 1),
        "rollout_batched_offers_per_s": round(sim.offer_decisions_per_s)})

    progress(f"engine: {json.dumps(configurations[-1])}")
    progress(f"scheduler restart with {sizes.engine_agents} agents stored")
    rec = recovery.measure(work_dir / "recovery", sim.mid_records, sim.budget,
                           sim.max_parallel, sizes.page_requests, sizes.full_requests,
                           mesos_version)
    restart_figures = ("recovery_s", "status_p99_ms_page", "status_p99_ms_full", "html_bytes",
                       "scheduler_rss_mb", "scheduler_idle_cpu_pct")
    for name in restart_figures:
        figures[name] = getattr(rec, name)
    configurations.append({"figures": list(restart_figures), **asdict(rec)})

    progress(f"restart: {json.dumps(configurations[-1])}")
    ratios, writes = [], []
    for agents, budget in sizes.rollouts:
        shortfall = rollout.memory_shortfall(agents)
        if shortfall is not None:
            progress(f"skipping the rollout of {agents} agents: {shortfall}")
            lines.append(f"rollout_overhead_ratio (N={agents}, k={budget}): not measured, "
                         f"{shortfall}")
            configurations.append({"figures": [], "agents": agents, "budget": budget,
                                   "skipped": shortfall})
            continue
        progress(f"dev-cluster rollout, {agents} agents, budget {budget}")
        version = code_version()
        roll = rollout.measure(work_dir / f"rollout-{agents}-{budget}", agents, budget,
                               max_parallel=10,
                               converged_window_s=sizes.converged_window_s,
                               baseline_window_s=sizes.baseline_window_s,
                               deadline_s=sizes.rollout_deadline_s,
                               mesos_version=mesos_version)
        ratios.append(roll.overhead_ratio)
        writes.append(roll.etcd_writes_per_step_transition)
        target = overhead_target(budget)
        lines.append(_line(f"rollout_overhead_ratio (N={agents}, k={budget})",
                           roll.overhead_ratio, target))
        configurations.append({"figures": ["rollout_overhead_ratio",
                                           "etcd_writes_per_step_transition", *OFFER_FIGURES],
                               "target_overhead_ratio": target.text,
                               "target_offers_per_min": _offers_target(roll).text,
                               **asdict(roll), "code": version})
        progress(f"rollout: {json.dumps(configurations[-1])}")
        if not ratios[1:]:
            figures["offers_per_min_rollout"] = roll.offers_per_min_rollout
            figures["offers_per_min_converged"] = roll.offers_per_min_converged
            figures["offers_per_min_rollout_unfiltered_baseline"] = (
                roll.offers_per_min_unfiltered_baseline)
    if ratios:
        figures["rollout_overhead_ratio"] = max(ratios)
        figures["etcd_writes_per_step_transition"] = max(writes)

    if sizes.disruption is not None:
        agents, workloads = sizes.disruption
        progress(f"disruption: {agents} agents, {workloads} workloads of each kind per agent")
        # On the DC/OS release that ships this Mesos, with its Docker.
        measured = disruption.measure(work_dir / "disruption", agents, 1, workloads,
                                      sizes.rollout_deadline_s, shipping(mesos_version).name)
        values, disruption_lines = disruption.report(measured)
        figures.update(values)
        lines.extend(disruption_lines)
        configurations += [{"figures": [name for name in values if name.startswith(m.scenario)],
                            **asdict(m)} for m in measured]

    for name, target in TARGETS.items():
        if name in figures:
            lines.append(_line(name, figures[name], target))
    lines.append(f"html_bytes {figures['html_bytes']} (no target)")
    sim_bound = offers_bound_per_min(sim.budget, sim.max_parallel)
    lines.append(_line(f"engine_offers_per_min_rollout (N={sim.agents}, k={sim.budget}, "
                       f"max_parallel={sim.max_parallel})",
                       figures["engine_offers_per_min_rollout"],
                       rollout_offers_target(sim.budget, sim.max_parallel, None))
                 + f"; bound 60 x (2k + max_parallel) = {sim_bound:g}")
    if ratios:
        first = next(c for c in configurations if "overhead_ratio" in c)
        lines.append(_line(f"offers_per_min_rollout (N={first['agents']}, k={first['budget']})",
                           figures["offers_per_min_rollout"], _offers_target_of(first))
                     + f"; unfiltered baseline "
                       f"{figures['offers_per_min_rollout_unfiltered_baseline']}")
    return {**figures, "configurations": configurations}, lines


def _offers_target(roll: rollout.RolloutFigures) -> Target:
    return rollout_offers_target(roll.budget, roll.max_parallel,
                                 roll.offers_per_min_unfiltered_baseline, roll.agents)


def _offers_target_of(config: dict) -> Target:
    return rollout_offers_target(config["budget"], config["max_parallel"],
                                 config["offers_per_min_unfiltered_baseline"], config["agents"])


def misses(document: dict) -> list[str]:
    """Figures that miss their targets; a figure that could not be measured is a miss."""
    missed = [name for name, target in TARGETS.items()
              if name not in document or not target.holds(document[name])]
    missed += [name for name, target in DISRUPTION_TARGETS.items()
               if isinstance(document.get(name), int | float)
               and not target.holds(document[name])]
    for config in document["configurations"]:
        if "overhead_ratio" in config and not overhead_target(config["budget"]).holds(
                config["overhead_ratio"]):
            missed.append(f"rollout_overhead_ratio (N={config['agents']}, "
                          f"k={config['budget']})")
        if "offers_per_min_rollout" in config and not _offers_target_of(config).holds(
                config["offers_per_min_rollout"]):
            missed.append(f"offers_per_min_rollout (N={config['agents']}, "
                          f"k={config['budget']})")
        if "rollout_offers" in config and not rollout_offers_target(
                config["budget"], config["max_parallel"], None).holds(
                    document["engine_offers_per_min_rollout"]):
            missed.append("engine_offers_per_min_rollout")
    return missed


def _line(name: str, value: float, target: Target) -> str:
    verdict = "ok" if target.holds(value) else "MISS"
    return f"{name} {value} (target {target.text}): {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench",
                                     description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="reduced sizes, under three minutes")
    size.add_argument("--smoke", action="store_true", help="the smallest sizes")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a figure misses its target")
    parser.add_argument("--mesos-version", choices=sorted(VERSIONS), default=DEFAULT_VERSION,
                        help=f"the Mesos the master emulator answers as (default "
                             f"{DEFAULT_VERSION})")
    parser.add_argument("--rollout", nargs=2, type=int, action="append",
                        metavar=("AGENTS", "BUDGET"),
                        help="dev-cluster rollout configurations to measure instead of the "
                             "size's (repeatable; the first gives the offer figures)")
    parser.add_argument("--disruption", nargs=2, type=int, metavar=("AGENTS", "WORKLOADS"),
                        help="measure the disruption figures on this many agents with this "
                             "many workloads of each kind per agent (instead of the size's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # Stop like Ctrl-C so every started cluster, scheduler and task is torn down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_TERMINATED))
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.disruption:
        if args.disruption[0] < 1 or args.disruption[1] < 0:
            parser.error("--disruption needs at least one agent and workloads >= 0")
        sizes = dataclasses.replace(sizes, disruption=tuple(args.disruption))
    if args.rollout:
        if any(agents < 1 or budget < 1 for agents, budget in args.rollout):
            parser.error("--rollout needs at least one agent and a budget of at least 1")
        sizes = dataclasses.replace(sizes, rollouts=tuple(map(tuple, args.rollout)))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="calico-bench-") as tmp:
        document, lines = run(sizes, Path(tmp), args.mesos_version)
    progress(f"done in {time.monotonic() - started:.0f}s")
    for line in lines:
        print(line)
    print(json.dumps(document, sort_keys=True), flush=True)
    return 1 if args.check and misses(document) else 0


if __name__ == "__main__":
    sys.exit(main())
