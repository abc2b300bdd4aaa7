"""Figures 1, 5a and 6: a real rollout on the dev cluster (real scheduler process, master
emulator with simulated hosts, real etcd), measured against its own ideal.

- Rollout time: `rollout.completed_at - rollout.started_at` of the status document (first
  launch to last step outcome).
- Ideal lower bound (`ideal_s`): see `ideal_s` below and docs/benchmarks.md.
- etcd writes: every revision of every `agents/<id>` key (`tests.bench.history`), divided
  by the step-state transitions those revisions show; the worst agent is reported.
- Offers: the scheduler's own `calico_dcos_offers_received_total` from `/metrics`, over the
  rollout and over a window after it converged; then the unfiltered baseline
  (`tests.bench.baseline`) on the same cluster.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devcluster.cluster import ClusterOptions
from devcluster.host.events import read_events
from devcluster.master_records import MasterOptions
from devcluster.stack import DevStack, StackOptions
from devcluster.versions import DEFAULT_VERSION
from framework.engine import Plan
from tests.bench import baseline
from tests.bench.enginesim import bench_plan_policy
from tests.bench.history import AgentHistory, attempts, read_agent_histories, step_transitions

POLL_S = 0.5
HTTP_TIMEOUT_S = 10.0
OFFERS_METRIC = "calico_dcos_offers_received_total"
AGENT_UNITS = ("dcos-mesos-slave", "dcos-mesos-slave-public")
PUBLIC_EVERY = 10
# Real memory one converged simulated agent keeps busy, as proportional set sizes (PSS)
# measured on 20 converged agents (`python -m devcluster --agents 20`, 2026-12-03): its
# etcd v2 proxy, the real etcd unpacked into the task's sandbox (29 MB: each copy is its
# own file, so no text pages are shared), the etcd-proxy and node installers (14 MB each)
# and the foreground `docker run` of calico-node (13 MB): 70 MB, rounded up.
HOST_MEMORY_MB_PER_AGENT = 75.0
MEMORY_MARGIN_MB = 2048.0


class RolloutError(RuntimeError):
    """The rollout did not complete, or its records do not explain it."""


@dataclass(frozen=True)
class RolloutFigures:
    agents: int
    budget: int
    max_parallel: int
    rollout_s: float
    ideal_s: float
    overhead_ratio: float
    wall_s: float
    mean_in_slot_wait_s: float
    slot_idle_fraction: float
    etcd_writes_per_step_transition: float
    etcd_writes_per_step_transition_mean: float
    etcd_writes_per_agent: float
    offers_rollout: int
    offers_per_min_rollout: float
    offers_per_min_converged: float
    offers_per_min_unfiltered_baseline: float


@dataclass(frozen=True)
class AgentWork:
    """Intrinsic seconds of one agent's steps: before, inside and after its restarts."""

    before_s: float
    disruptive_s: float  # inside a restart slot
    after_s: float
    live_s: float = 0.0  # disruptive steps run live (no slot): under the parallel cap

    @property
    def total_s(self) -> float:
        return self.before_s + self.disruptive_s + self.after_s + self.live_s


def ideal_s(work: list[AgentWork], budget: int, max_parallel: int | None = None) -> float:
    """A lower bound on any schedule of the same work under the same budget.

    The restart slots must carry every agent's disruptive work (at most `budget` at once,
    one agent's work never split across slots in parallel); no disruptive work can start
    before some agent finished its earlier steps; after the last disruptive work ends, that
    agent still has its later steps to run. Each agent's steps run one after another, and
    at most `max_parallel` agents run work outside a slot at once.
    """
    if not work:
        return 0.0
    slots = max(sum(w.disruptive_s for w in work) / budget, max(w.disruptive_s for w in work))
    bound = max(min(w.before_s for w in work) + slots + min(w.after_s for w in work),
                max(w.total_s for w in work))
    if max_parallel:
        bound = max(bound, sum(w.total_s - w.disruptive_s for w in work) / max_parallel)
    return bound


def agent_work(plan: Plan, history: AgentHistory, restart_ends: list[float],
               since: float = 0.0) -> AgentWork:
    """Sum of task run times per phase of the plan, plus the time the agent itself was
    restarting between two attempts of a step (no scheduler could launch then); only tasks
    launched at or after `since` (a change rolled out after an install)."""
    disruptive = [i for i, s in enumerate(plan.steps) if s.disruptive]
    first, last = (disruptive[0], disruptive[-1]) if disruptive else (len(plan.steps), -1)
    phase_of = {s.name: (0 if i < first else 2 if i > last else 1)
                for i, s in enumerate(plan.steps)}
    totals = [0.0, 0.0, 0.0, 0.0]
    previous: dict[str, float] = {}
    for attempt in attempts(plan, history, since):
        phase = phase_of[attempt.step]
        if phase == 1 and not attempt.restart_allowed:
            phase = 3  # a live run of a disruptive step holds no slot
        totals[phase] += attempt.duration_s
        ended = previous.get(attempt.step)
        if ended is not None:
            back = [t for t in restart_ends if ended <= t <= attempt.launched_at]
            if back:
                totals[phase] += max(back) - ended
        previous[attempt.step] = attempt.ended_at
    return AgentWork(*totals)


def memory_shortfall(agents: int) -> str | None:
    """Why this machine cannot hold a dev cluster of `agents` agents, or None when it can."""
    available_kb = next(int(line.split()[1])
                        for line in Path("/proc/meminfo").read_text().splitlines()
                        if line.startswith("MemAvailable:"))
    needed_mb = agents * HOST_MEMORY_MB_PER_AGENT + MEMORY_MARGIN_MB
    if needed_mb <= available_kb / 1024.0:
        return None
    return (f"{agents} simulated agents need about {needed_mb / 1024.0:.1f} GB of memory; "
            f"{available_kb / 1024.0 ** 2:.1f} GB is available")


def in_slot_waits(plan: Plan, history: AgentHistory, restart_ends: list[float]) -> list[float]:
    """Seconds between consecutive disruptive attempts on one agent that it spent neither
    running a task nor restarting: waiting for an offer while it held (or needed) a slot."""
    found = [a for a in attempts(plan, history) if plan.spec(a.step).disruptive]
    waits = []
    for earlier, later in zip(found, found[1:], strict=False):
        back = [t for t in restart_ends if earlier.ended_at <= t <= later.launched_at]
        waits.append(later.launched_at - max([earlier.ended_at, *back]))
    return waits


def slot_hold(plan: Plan, history: AgentHistory) -> tuple[float, float] | None:
    """(first disruptive launch, last disruptive outcome) of one agent, if it had any."""
    found = [a for a in attempts(plan, history) if plan.spec(a.step).disruptive]
    if not found:
        return None
    return found[0].launched_at, max(a.ended_at for a in found)


def slot_idle_fraction(holds: list[tuple[float, float]], budget: int) -> float:
    """Share of the slots' capacity, from the first disruptive launch to the last disruptive
    outcome, that no agent used (handovers between agents, waits for offers)."""
    if not holds:
        return 0.0
    span = max(end for _, end in holds) - min(begin for begin, _ in holds)
    used = sum(end - begin for begin, end in holds)
    return max(0.0, 1.0 - used / (budget * span)) if span > 0 else 0.0


@contextlib.contextmanager
def _running(stack: DevStack):
    """The stack started part by part in DevStack's order; whatever started is stopped
    again however this ends (an interrupted start included)."""
    stops = []
    try:
        stack.work_dir.mkdir(parents=True, exist_ok=True)
        stops.append(stack.etcd.stop)
        stack.etcd.start()
        stops.append(stack.cluster.stop)
        stack.cluster.start()
        stack.artifacts.start()
        stops.append(stack.artifacts.stop)
        stops.append(stack.stop_scheduler)
        stack.start_scheduler()
        yield stack
    finally:
        for stop in reversed(stops):
            stop()


def measure(work_dir: Path, agents: int, budget: int, max_parallel: int,
            converged_window_s: float, baseline_window_s: float,
            deadline_s: float, mesos_version: str = DEFAULT_VERSION) -> RolloutFigures:
    events_file = work_dir / "events.jsonl"
    public = agents // PUBLIC_EVERY
    options = StackOptions(
        cluster=ClusterOptions(agents=agents - public, public_agents=public,
                               events_file=events_file,
                               master=MasterOptions(version=mesos_version)),
        max_concurrent_restarts=budget,
        scheduler_env=(("CALICO_MAX_PARALLEL_TASKS", str(max_parallel)),))
    stack = DevStack(work_dir, options)
    started = time.monotonic()
    with _running(stack):
        status = wait_complete(stack, agents, started + deadline_s)
        wall_s = time.monotonic() - started
        offers_rollout = _offers_received(stack)
        window_start, offers_before = time.monotonic(), offers_rollout
        while (left := window_start + converged_window_s - time.monotonic()) > 0:
            time.sleep(left)
        converged = (_offers_received(stack) - offers_before) * 60.0 / (
            time.monotonic() - window_start)
        host, port = stack.cluster.master.address
        unfiltered = baseline.offers_per_min(f"{host}:{port}", baseline_window_s)
        plan, policy = bench_plan_policy(budget, {"CALICO_MAX_PARALLEL_TASKS": str(max_parallel),
                                                  **dict(stack.scheduler_env())})
        histories = read_agent_histories(stack.etcd.endpoint, options.framework_name)
    rollout = status["rollout"]
    rollout_s = rollout["completed_at"] - rollout["started_at"]
    restart_ends = restart_ends_of(events_file)
    work = [agent_work(plan, h, restart_ends.get(agent_id, []))
            for agent_id, h in histories.items()]
    ideal = ideal_s(work, budget, max_parallel)
    waits = [w for agent_id, h in histories.items()
             for w in in_slot_waits(plan, h, restart_ends.get(agent_id, []))]
    holds = [hold for h in histories.values() if (hold := slot_hold(plan, h)) is not None]
    ratios = []
    writes = transitions = 0
    for history in histories.values():
        changes = step_transitions(plan, policy.retry, history)
        ratios.append(history.writes / changes)
        writes += history.writes
        transitions += changes
    if len(histories) != agents or ideal <= 0:
        raise RolloutError(f"records of {len(histories)} agents, ideal {ideal:.1f}s")
    return RolloutFigures(
        agents=agents, budget=budget, max_parallel=max_parallel,
        rollout_s=round(rollout_s, 2), ideal_s=round(ideal, 2),
        overhead_ratio=round(rollout_s / ideal, 3), wall_s=round(wall_s, 2),
        mean_in_slot_wait_s=round(sum(waits) / len(waits), 2) if waits else 0.0,
        slot_idle_fraction=round(slot_idle_fraction(holds, budget), 3),
        etcd_writes_per_step_transition=round(max(ratios), 3),
        etcd_writes_per_step_transition_mean=round(writes / transitions, 3),
        etcd_writes_per_agent=round(writes / agents, 2),
        offers_rollout=offers_rollout,
        offers_per_min_rollout=round(offers_rollout * 60.0 / wall_s, 1),
        offers_per_min_converged=round(converged, 1),
        offers_per_min_unfiltered_baseline=round(unfiltered, 1))


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
        return resp.read()


def wait_complete(stack: DevStack, agents: int, deadline: float) -> dict:
    url = stack.status_url + "v1/status?limit=1"
    status = None
    while time.monotonic() < deadline:
        if stack.scheduler is not None and stack.scheduler.poll() is not None:
            raise RolloutError(f"the scheduler exited; see {stack.scheduler_log}")
        try:
            status = json.loads(_get(url))
        except (urllib.error.URLError, OSError, ValueError):
            status = None
        if status is not None:
            rollout = status["rollout"]
            if rollout["state"] == "complete" and rollout["counts"]["complete"] == agents:
                return status
            if rollout["state"] == "halted":
                raise RolloutError(f"the rollout halted: {rollout['reason']}")
        time.sleep(POLL_S)
    counts = (status or {}).get("rollout", {}).get("counts")
    raise RolloutError(f"the rollout did not complete in time (counts {counts})")


def _offers_received(stack: DevStack) -> int:
    for line in _get(stack.status_url + "metrics").decode().splitlines():
        name, _, value = line.partition(" ")
        if name == OFFERS_METRIC:
            return int(float(value))
    raise RolloutError(f"/metrics has no {OFFERS_METRIC}")


def restart_ends_of(events_file: Path) -> dict[str, list[float]]:
    """agent id -> times its agent unit finished restarting (host action log)."""
    ends: dict[str, list[float]] = {}
    if not events_file.exists():
        return ends
    for event in read_events(events_file):
        if event["unit"] in AGENT_UNITS and event["phase"] == "end":
            ends.setdefault(event["agent_id"], []).append(event["time"])
    return ends
