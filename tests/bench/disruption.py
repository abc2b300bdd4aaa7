"""What an install costs the cluster's other work: unit restarts and workloads lost, for a
fresh install and for a change of Docker's cluster store, and each rollout against its ideal.

A `DevStack` with `workloads` tasks and containers of another framework on every agent
(`devcluster/workloads.py`) and the scheduler at its defaults (k = `budget`):

1. Fresh install: from the scheduler's start to a complete rollout.
2. Cluster-store change: the workloads the install lost started again, then the
   scheduler restarted (as Marathon does on a new package
   configuration) with `CALICO_DOCKER_CLUSTER_STORE` given a path, so the docker step's
   target changes on every agent; until every agent's docker step has the new target.
   Docker refuses a changed store by reload, so every host restarts Docker.
3. The same change again with the package's `docker.live_restore` on
   (`CALICO_DOCKER_LIVE_RESTORE`): the installer enables live-restore by reload before
   it restarts Docker, so the containers keep running.

Per scenario, from the host action log (`--events`): `unit_restarts` (restarts begun of
docker and of the agent unit) and `workload_lost` (`lost` lines); from `/v1/status`
`unit_restarts_reported` (the installer's reports, counted since the scenario began); the
rollout time (first launch to last
outcome of that scenario's tasks) against `tests.bench.rollout.ideal_s` over the same tasks.

`python -m tests.bench.disruption [--agents N] [--workloads W] [--platform P]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from devcluster.cluster import ClusterOptions
from devcluster.host.events import read_events
from devcluster.platforms import DEFAULT_PLATFORM, PLATFORMS, on_platform
from devcluster.stack import DevStack, StackOptions
from framework.config import load as load_config
from tests.bench.enginesim import bench_plan_policy
from tests.bench.history import attempts, read_agent_histories
from tests.bench.rollout import (
    PUBLIC_EVERY,
    RolloutError,
    agent_work,
    ideal_s,
    restart_ends_of,
    wait_complete,
)
from tests.bench.targets import DISRUPTION_TARGETS

RESTARTED_UNITS = ("docker", "dcos-mesos-slave", "dcos-mesos-slave-public")
STORE_PATH = "/calico-dcos-bench"  # appended to the cluster store for each change
# The changes measured after the fresh install: (scenario, docker.live_restore).
CHANGES = (("cluster_store_change", False), ("cluster_store_change_live_restore", True))


@dataclass(frozen=True)
class DisruptionFigures:
    scenario: str  # "fresh_install" | one of CHANGES
    live_restore: bool
    agents: int
    budget: int
    workloads: int  # on the whole cluster
    unit_restarts: int
    unit_restarts_reported: int
    workload_lost: int
    rollout_s: float
    ideal_s: float
    overhead_ratio: float


def host_counts(events: list[dict], since: float) -> tuple[int, int]:
    """(unit restarts begun, workloads lost) in the action log at or after `since`."""
    later = [e for e in events if e["time"] >= since]
    restarts = sum(1 for e in later if e["unit"] in RESTARTED_UNITS
                   and e["action"] == "restart" and e["phase"] == "begin")
    return restarts, sum(1 for e in later if e["action"] == "lost")


def measure(work_dir: Path, agents: int, budget: int, workloads: int, deadline_s: float,
            platform: str = DEFAULT_PLATFORM) -> list[DisruptionFigures]:
    """Both scenarios on one cluster of `agents` (every tenth public)."""
    events_file = work_dir / "events.jsonl"
    public = agents // PUBLIC_EVERY
    options = StackOptions(
        cluster=on_platform(ClusterOptions(agents=agents - public, public_agents=public,
                                           events_file=events_file), platform),
        max_concurrent_restarts=budget, workloads_per_agent=workloads)
    stack = DevStack(work_dir, options)
    try:
        began = time.time()
        stack.start()
        fresh = wait_complete(stack, agents, time.monotonic() + deadline_s)
        figures = [_figures(stack, "fresh_install", began, fresh, agents, budget)]
        reported = fresh["rollout"]["unit_restarts"]
        store = load_config([], stack.scheduler_env()).docker.cluster_store
        for number, (scenario, live_restore) in enumerate(CHANGES, 1):
            if stack.workloads is not None:
                stack.workloads.replace_lost(deadline_s)
            changed = {"CALICO_DOCKER_CLUSTER_STORE": f"{store}{STORE_PATH}{number}",
                       "CALICO_DOCKER_LIVE_RESTORE": "true" if live_restore else "false"}
            stack.stop_scheduler()
            began = time.time()
            stack.start_scheduler(changed)
            done = stack.wait_status(
                lambda s, since=began: s["rollout"]["state"] == "complete"
                and _changed_everywhere(s, since),
                deadline_s)
            figures.append(_figures(stack, scenario, began, done, agents, budget, changed,
                                    reported_before=reported, live_restore=live_restore))
            reported = done["rollout"]["unit_restarts"]
    finally:
        stack.stop()
    return figures


def _changed_everywhere(status: dict, since: float) -> bool:
    """Every agent's docker step completed with a task updated after `since`."""
    return all(step["state"] == "complete" and (step["updated_at"] or 0) >= since
               for a in status["agents"] for step in a["steps"] if step["name"] == "docker")


def _figures(stack: DevStack, scenario: str, since: float, status: dict, agents: int,
             budget: int, env: dict[str, str] | None = None,
             reported_before: int = 0, live_restore: bool = False) -> DisruptionFigures:
    restarts, lost = host_counts(read_events(stack.options.cluster.events_file), since)
    plan, policy = bench_plan_policy(budget, {**stack.scheduler_env(), **(env or {})})
    histories = read_agent_histories(stack.etcd.endpoint, stack.options.framework_name)
    ends = restart_ends_of(stack.options.cluster.events_file)
    work = [agent_work(plan, h, ends.get(agent_id, []), since)
            for agent_id, h in histories.items()]
    runs = [a for h in histories.values() for a in attempts(plan, h, since)]
    if not runs:
        raise RolloutError(f"{scenario}: no task launched after {since}")
    rollout_s = max(a.ended_at for a in runs) - min(a.launched_at for a in runs)
    ideal = ideal_s(work, budget, policy.max_parallel)
    workloads = stack.workloads.counts()["workloads"] if stack.workloads else 0
    return DisruptionFigures(
        scenario=scenario, live_restore=live_restore, agents=agents, budget=budget,
        workloads=workloads, unit_restarts=restarts,
        unit_restarts_reported=status["rollout"]["unit_restarts"] - reported_before,
        workload_lost=lost,
        rollout_s=round(rollout_s, 2), ideal_s=round(ideal, 2),
        overhead_ratio=round(rollout_s / ideal, 3) if ideal > 0 else float("inf"))


def report(figures: list[DisruptionFigures]) -> tuple[dict, list[str]]:
    """The figures by name, and one line per figure with its target."""
    by_scenario = {f.scenario: f for f in figures}
    values: dict[str, float | str] = {}
    for scenario, f in by_scenario.items():
        values[f"{scenario}_unit_restarts"] = f.unit_restarts
        values[f"{scenario}_workload_lost"] = f.workload_lost
        values[f"{scenario}_overhead_ratio"] = f.overhead_ratio
    lines = []
    for name, value in values.items():
        target = DISRUPTION_TARGETS.get(name)
        if isinstance(value, str) or target is None:
            lines.append(f"{name} {value}" + (f" (target {target.text})" if target else ""))
        else:
            verdict = "ok" if target.holds(value) else "MISS"
            lines.append(f"{name} {value} (target {target.text}): {verdict}")
    return values, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.disruption",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--workloads", type=int, default=2, help="per agent, of each kind")
    parser.add_argument("--budget", type=int, default=1)
    parser.add_argument("--platform", choices=sorted(PLATFORMS), default=DEFAULT_PLATFORM)
    parser.add_argument("--deadline", type=float, default=7200.0)
    args = parser.parse_args(argv)
    if args.agents < 1 or args.workloads < 0 or args.budget < 1:
        parser.error("need --agents >= 1, --workloads >= 0 and --budget >= 1")
    with tempfile.TemporaryDirectory(prefix="calico-bench-disruption-") as tmp:
        figures = measure(Path(tmp), args.agents, args.budget, args.workloads, args.deadline,
                          args.platform)
    values, lines = report(figures)
    for line in lines:
        print(line)
    print(json.dumps({**values, "platform": args.platform,
                      "configurations": [asdict(f) for f in figures]}, sort_keys=True),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

