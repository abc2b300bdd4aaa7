"""Figures 3, 4 and 5b: the real scheduler process restarting on a big cluster mid-rollout.

Setup: a real etcd holding the framework id and the records of `agents` agents half-way
through their rollout (from `tests.bench.enginesim`), and a master emulator that knows
those agents and the framework's live tasks (so reconciliation confirms them, as a real
master would after a scheduler failover). The emulator's allocator is not started: no
offers arrive, so nothing but the restart itself is measured.

- `recovery_s`: from spawning `python -m framework` until `/v1/status` shows it subscribed
  with every stored agent (the Subscribed decision has then been made and published).
- `status_p50/p99_ms_page` (`?limit=100` at random offsets), `..._full` (whole document),
  and `html_bytes` (`GET /`), over one keep-alive HTTP connection.
- `scheduler_rss_mb`: the scheduler's peak resident set (VmHWM) after all of the above; the
  current resident set is also sampled once recovered, after the page requests and at the
  end, to tell start-up from serving; then the CPU the idle scheduler uses.

`python -m tests.bench.recovery [--agents N] [--repeat R]`: these figures alone, measured
R times over one simulated mid-rollout state, each with the load average around it.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devcluster.agent import AgentSpec
from devcluster.cluster import agent_ip
from devcluster.etcd import EtcdServer
from devcluster.master import Framework, Master, MasterOptions
from devcluster.master_http import MasterServer
from devcluster.master_records import AgentTask
from devcluster.ports import free_port
from devcluster.protocol import Resources
from devcluster.versions import DEFAULT_VERSION
from framework.engine import AgentRecord, Plan
from framework.engine.tasks import LAUNCHED, TASK_STAGING, is_live
from framework.state import Batch, EtcdConnection, StateStore
from tests.bench.enginesim import bench_plan_policy, simulate_rollout
from tests.bench.targets import TARGETS

REPO = Path(__file__).resolve().parents[2]
FRAMEWORK_NAME = "calico"
LEADER_WAIT_S = 10.0
RECOVERY_DEADLINE_S = 120.0
POLL_S = 0.05
HTTP_TIMEOUT_S = 30.0
PAGE_LIMIT = 100
SEED = 11
SEED_CHUNK = 500
STOP_GRACE_S = 10.0
IDLE_WINDOW_S = 5.0


class RecoveryError(RuntimeError):
    """The scheduler did not come up in time."""


@dataclass(frozen=True)
class RecoveryFigures:
    agents: int
    budget: int
    recovery_s: float
    status_p50_ms_page: float
    status_p99_ms_page: float
    status_p50_ms_full: float
    status_p99_ms_full: float
    status_bytes_full: int
    html_bytes: int
    scheduler_rss_mb: float
    scheduler_rss_peak_recovered_mb: float
    scheduler_rss_recovered_mb: float
    scheduler_rss_after_pages_mb: float
    scheduler_rss_now_mb: float
    scheduler_idle_cpu_pct: float


def scheduler_env(master_address: str, etcd_endpoint: str, port: int,
                  budget: int, max_parallel: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CALICO_", "MESOS_", "PORT"))}
    env.update({
        "MESOS_MASTER": master_address,
        "CALICO_FRAMEWORK_NAME": FRAMEWORK_NAME,
        "CALICO_FRAMEWORK_HOSTNAME": "127.0.0.1",
        "CALICO_BIND_ADDRESS": "127.0.0.1",
        "PORT0": str(port),
        "CALICO_ETCD_ENDPOINTS": etcd_endpoint,
        "CALICO_OPERATOR_TOKEN": secrets.token_urlsafe(18),
        "CALICO_MAX_CONCURRENT_RESTARTS": str(budget),
        "CALICO_MAX_PARALLEL_TASKS": str(max_parallel),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def retarget(records: Iterable[AgentRecord], old: Plan, new: Plan) -> list[AgentRecord]:
    """The records with every hash of `old`'s targets replaced by `new`'s (the scheduler's
    config differs from the simulation's in the etcd endpoints, which the hashes cover)."""
    mapping = {o.target_hash: n.target_hash for o, n in zip(old.steps, new.steps, strict=True)}

    def step(rec):
        return dataclasses.replace(rec, **{name: mapping.get(getattr(rec, name), getattr(rec, name))
                                           for name in ("task_hash", "done_hash", "skipped_hash")})
    return [dataclasses.replace(a, steps={n: step(r) for n, r in a.steps.items()})
            for a in records]


def seed_etcd(endpoint: str, records: list[AgentRecord], framework_id: str) -> None:
    conn = EtcdConnection([endpoint])
    store = StateStore(conn, FRAMEWORK_NAME)
    try:
        if not store.leader.acquire(timeout_s=LEADER_WAIT_S):
            raise RecoveryError("could not take the leader lock to seed etcd")
        store.save_framework_id(framework_id)
        for start in range(0, len(records), SEED_CHUNK):
            chunk = records[start:start + SEED_CHUNK]
            store.commit(Batch(agents={r.agent_id: r.to_dict() for r in chunk}))
        store.leader.release()
    finally:
        conn.close()


def build_master(work_dir: Path, records: list[AgentRecord],
                 mesos_version: str = DEFAULT_VERSION) -> tuple[Master, str]:
    """A master (allocator not started) knowing every agent and the framework's live tasks."""
    master = Master(work_dir, MasterOptions(version=mesos_version))
    framework_id = f"{master.master_id}-0000"
    fw = Framework(id=framework_id, info={"user": "root", "name": FRAMEWORK_NAME})
    master.frameworks[framework_id] = fw
    for index, record in enumerate(records):
        spec = AgentSpec(id=record.agent_id, hostname=record.hostname, ip=agent_ip(index),
                         public=record.role == "public",
                         root=work_dir / "hosts" / record.agent_id,
                         work_dir=work_dir / "agents" / record.agent_id)
        agent = master.add_agent(spec, {})
        for name, rec in record.steps.items():
            if rec.task_id is None or not is_live(rec.task_state):
                continue
            state = TASK_STAGING if rec.task_state == LAUNCHED else rec.task_state
            task = AgentTask(task_id=rec.task_id, name=name, framework_id=framework_id,
                             agent_id=record.agent_id, role=spec.role, resources=Resources(),
                             info={}, sandbox=work_dir / "sandboxes" / rec.task_id,
                             state=state, healthy=rec.healthy)
            fw.tasks[rec.task_id] = task
            agent.tasks[rec.task_id] = task
    return master, framework_id


def measure(work_dir: Path, mid_records: tuple[AgentRecord, ...], budget: int,
            max_parallel: int, page_requests: int, full_requests: int,
            mesos_version: str = DEFAULT_VERSION) -> RecoveryFigures:
    work_dir.mkdir(parents=True, exist_ok=True)
    etcd = EtcdServer(work_dir / "etcd").start()
    master = server = proc = None
    try:
        port = free_port()
        master, framework_id = _prepare(work_dir, etcd.endpoint, mid_records, budget,
                                        max_parallel, mesos_version)
        server = MasterServer(master).start()
        host, master_port = master.address
        env = scheduler_env(f"{host}:{master_port}", etcd.endpoint, port, budget,
                            max_parallel)
        with open(work_dir / "scheduler.log", "wb") as out:
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "framework"], env=env, cwd=REPO,
                                    stdout=out, stderr=subprocess.STDOUT)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
        recovery_s = _wait_recovered(conn, proc, len(mid_records), started)
        peak_recovered, rss_recovered = _rss_mb(proc.pid)
        page_ms = _latencies(conn, page_requests, len(mid_records))
        _, rss_after_pages = _rss_mb(proc.pid)
        full_ms, full_bytes = _full_latencies(conn, full_requests)
        html_bytes = len(_get(conn, "/"))
        rss_peak, rss_now = _rss_mb(proc.pid)
        conn.close()
        idle_cpu = _cpu_pct(proc.pid, IDLE_WINDOW_S)
        return RecoveryFigures(
            agents=len(mid_records), budget=budget, recovery_s=round(recovery_s, 3),
            status_p50_ms_page=percentile(page_ms, 50),
            status_p99_ms_page=percentile(page_ms, 99),
            status_p50_ms_full=percentile(full_ms, 50),
            status_p99_ms_full=percentile(full_ms, 99),
            status_bytes_full=full_bytes, html_bytes=html_bytes,
            scheduler_rss_mb=rss_peak, scheduler_rss_peak_recovered_mb=peak_recovered,
            scheduler_rss_recovered_mb=rss_recovered,
            scheduler_rss_after_pages_mb=rss_after_pages, scheduler_rss_now_mb=rss_now,
            scheduler_idle_cpu_pct=idle_cpu)
    finally:
        if proc is not None:
            _stop(proc)
        if server is not None:
            server.stop()
        if master is not None:
            master.stop()
        etcd.stop()


def _prepare(work_dir: Path, endpoint: str, mid_records: tuple[AgentRecord, ...],
             budget: int, max_parallel: int, mesos_version: str) -> tuple[Master, str]:
    parallel = {"CALICO_MAX_PARALLEL_TASKS": str(max_parallel)}
    old_plan, _ = bench_plan_policy(budget, parallel)
    new_plan, _ = bench_plan_policy(budget, {**parallel, "CALICO_ETCD_ENDPOINTS": endpoint})
    records = retarget(mid_records, old_plan, new_plan)
    master, framework_id = build_master(work_dir, records, mesos_version)
    seed_etcd(endpoint, records, framework_id)
    return master, framework_id


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RecoveryError(f"GET {path}: HTTP {resp.status}")
    return body


def _wait_recovered(conn: http.client.HTTPConnection, proc: subprocess.Popen, agents: int,
                    started: float) -> float:
    deadline = started + RECOVERY_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RecoveryError(f"the scheduler exited with {proc.returncode}")
        try:
            status = json.loads(_get(conn, "/v1/status?limit=1"))
        except (OSError, http.client.HTTPException, RecoveryError, ValueError):
            conn.close()
            time.sleep(POLL_S)
            continue
        if status["framework"]["subscribed"] and status["rollout"]["counts"]["total"] == agents:
            return time.monotonic() - started
        time.sleep(POLL_S)
    raise RecoveryError(f"not subscribed with {agents} agents after {RECOVERY_DEADLINE_S}s")


def _latencies(conn: http.client.HTTPConnection, requests: int, agents: int) -> list[float]:
    rng = random.Random(SEED)
    out = []
    for _ in range(requests):
        offset = rng.randrange(max(1, agents - PAGE_LIMIT))
        started = time.perf_counter()
        _get(conn, f"/v1/status?limit={PAGE_LIMIT}&offset={offset}")
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def _full_latencies(conn: http.client.HTTPConnection, requests: int) -> tuple[list[float], int]:
    out, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        size = len(_get(conn, "/v1/status"))
        out.append((time.perf_counter() - started) * 1000.0)
    return out, size


def percentile(samples: list[float], pct: int) -> float:
    """Nearest-rank percentile: the smallest sample with `pct`% of samples at or below it."""
    ordered = sorted(samples)
    rank = max(1, -(-pct * len(ordered) // 100))
    return round(ordered[rank - 1], 2)


def _rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident set in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return (round(int(fields["VmHWM"][0]) / 1024.0, 1),
            round(int(fields["VmRSS"][0]) / 1024.0, 1))


def _cpu_pct(pid: int, window_s: float) -> float:
    """CPU the process used over `window_s` seconds with no request and no offer, in % of
    one core (the scheduler's cost of standing still)."""
    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before, started = used(), time.monotonic()
    while (left := started + window_s - time.monotonic()) > 0:
        time.sleep(left)
    return round((used() - before) * 100.0 / (time.monotonic() - started), 1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _load_average() -> str:
    """The 1, 5 and 15-minute load averages (the machine is shared)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.recovery",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="measurements of one state")
    parser.add_argument("--pages", type=int, default=200, help="page requests")
    parser.add_argument("--full", type=int, default=30, help="whole-document requests")
    args = parser.parse_args(argv)
    if args.agents < 2 or args.repeat < 1:
        parser.error("need --agents >= 2 and --repeat >= 1")
    # The sizes of tests/bench/__main__.py: k = agents / 100, at least 10 in parallel.
    budget, max_parallel = max(1, args.agents // 100), max(10, args.agents // 100)
    sim = simulate_rollout(args.agents, budget, max_parallel)
    runs = []
    for number in range(args.repeat):
        load_before = _load_average()
        with tempfile.TemporaryDirectory(prefix="calico-bench-recovery-") as tmp:
            figures = measure(Path(tmp), sim.mid_records, budget, max_parallel, args.pages,
                              args.full)
        runs.append({**dataclasses.asdict(figures), "load_before": load_before,
                     "load_after": _load_average()})
        print(f"run {number + 1}: load {load_before} -> {runs[-1]['load_after']}")
        for name, target in TARGETS.items():
            if name in runs[-1]:
                verdict = "ok" if target.holds(runs[-1][name]) else "MISS"
                print(f"  {name} {runs[-1][name]} (target {target.text}): {verdict}")
    print(json.dumps({"runs": runs}, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
