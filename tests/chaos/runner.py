"""One chaos run: a dev stack, an install rollout and a config-change rollout with the
seed's faults injected at their moments, then every invariant checked.

Both ways a host takes Docker's cluster store are exercised: in the install rollout the
plan's `another_store` hosts start with Docker running another store, so they need a
Docker restart under a restart slot (installer exit 76, then a relaunch with a slot), and
the others take the store live by a reload; the change rollout changes the store, so every
host installed before it restarts Docker. The run records which path each host took.

The run polls the leading scheduler's status while it waits for moments and for the
rollout to settle; every wait has a deadline, and a rollout that never settles is itself
a violation.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import etcd3

from devcluster.cluster import ClusterOptions
from devcluster.host import units
from devcluster.host.events import read_events
from devcluster.host.hostdir import DOCKER_UNIT, HostDir
from devcluster.master import MasterOptions
from devcluster.platforms import on_platform, shipping
from devcluster.stack import DevStack, StackOptions
from framework.config.variables import VARIABLES
from framework.state import DEFAULT_ROOT
from tests.chaos import invariants as inv
from tests.chaos import scenario
from tests.chaos.faults import HOLD_S, Cluster, Heal, InjectError, inject
from tests.chaos.schedulers import Schedulers, disruptive_launches
from tests.chaos.windows import PATH_RESTART, paths_between
from tests.e2e.conftest import docker_will_run_another_store

log = logging.getLogger("tests.chaos")

FAST_MASTER = MasterOptions(heartbeat_interval_s=2.0, allocation_interval_s=0.25,
                            status_retry_s=1.0)
FRAMEWORK_NAME = "calico"
BASE_ENV = {"CALICO_RETRY_MAX_ATTEMPTS": "2", "CALICO_RESTART_TIMEOUT": "10"}
# The config change: new Docker cluster store, CNI MTU and calico/node image, so both
# disruptive steps and calico-node run again on every agent.
CHANGE_ENV = {"CALICO_DOCKER_CLUSTER_STORE": "etcd://127.0.0.1:2379/chaos",
              "CALICO_CNI_MTU": "1440", "CALICO_NODE_IMAGE": "calico/node:v2.6.13"}
# The store the install rollout sets: the package's default.
INSTALL_STORE = next(v.default for v in VARIABLES if v.env == "CALICO_DOCKER_CLUSTER_STORE")
POLL_S = 0.2
SETTLE_BASE_S = 120.0
SETTLE_PER_AGENT_S = 20.0
AGREE_DEADLINE_S = 30.0
DOCKER_PS_TIMEOUT_S = 10.0


@dataclass
class RunResult:
    seed: int
    plan: scenario.ChaosPlan
    injected: collections.Counter = field(default_factory=collections.Counter)
    skipped: list[str] = field(default_factory=list)
    checked: collections.Counter = field(default_factory=collections.Counter)
    violations: list[inv.Violation] = field(default_factory=list)
    # phase -> host ("#i", by the order the cluster added it) -> the path it took there:
    # "live", "restart", or "none" (nothing of its Docker or agent changed)
    paths: dict[str, dict[str, str]] = field(default_factory=dict)
    duration_s: float = 0.0
    error: str | None = None  # the run itself broke (not the product): why

    @property
    def checks(self) -> int:
        return sum(self.checked.values())

    def record(self, invariant: str, problems: list[str]) -> None:
        self.checked[invariant] += 1
        self.violations += [inv.Violation(invariant, text) for text in problems]


@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0
    status: dict | None = None

    @property
    def store(self) -> str:
        """The Docker cluster store this rollout sets."""
        return CHANGE_ENV["CALICO_DOCKER_CLUSTER_STORE"] if self.name == scenario.PHASE_CHANGE \
            else INSTALL_STORE


def run_plan(plan: scenario.ChaosPlan, work_dir: Path) -> RunResult:
    """Run one plan in `work_dir` and check every invariant; never raises for a violation."""
    began = time.monotonic()
    result = RunResult(plan.seed, plan)
    events_file = work_dir / "events.jsonl"
    # The DC/OS release that ships the plan's Mesos: its Docker on the hosts too.
    cluster = on_platform(ClusterOptions(agents=plan.agents, events_file=events_file,
                                         master=FAST_MASTER),
                          shipping(plan.mesos_version).name)
    options = StackOptions(
        cluster=cluster,
        framework_name=FRAMEWORK_NAME, max_concurrent_restarts=plan.max_concurrent_restarts,
        scheduler_env=tuple(BASE_ENV.items()))
    stack = DevStack(work_dir, options)
    schedulers = Schedulers(stack, work_dir)
    try:
        _run_phases(plan, stack, schedulers, events_file, result)
    except Exception as err:  # a broken run is reported with the others, not fatal
        log.exception("seed %d: the run itself failed", plan.seed)
        result.error = f"{type(err).__name__}: {err}"
    finally:
        schedulers.stop_all()
        stack.stop()
    result.duration_s = time.monotonic() - began
    return result


def _run_phases(plan: scenario.ChaosPlan, stack: DevStack, schedulers: Schedulers,
                events_file: Path, result: RunResult) -> None:
    stack.work_dir.mkdir(parents=True, exist_ok=True)
    for host in plan.another_store:
        if host < plan.agents:  # the others are added by a fault, which writes theirs
            docker_will_run_another_store(stack.work_dir, host)
    stack.etcd.start()
    stack.cluster.start()
    stack.artifacts.start()
    cluster = Cluster(stack, schedulers, list(stack.cluster.master.agents),
                      frozenset(plan.another_store))
    for name in scenario.PHASES:
        if name == scenario.PHASE_CHANGE:
            schedulers.stop_all()
            schedulers.env = dict(CHANGE_ENV)
        phase = Phase(name, time.time())
        schedulers.start()
        _drive(plan, phase, cluster, result)
        _check_phase(plan, phase, cluster, events_file, result)
    _check_tasks(cluster, result)
    result.record(inv.BUDGET, inv.check_budget(read_events(events_file), cluster.removed_at,
                                                plan.max_concurrent_restarts))
    result.record(inv.ONE_SCHEDULER, inv.check_one_scheduler(schedulers.actions()))


def _drive(plan: scenario.ChaosPlan, phase: Phase, cluster: Cluster, result: RunResult) -> None:
    """Inject the phase's faults at their moments, heal them, wait for the rollout to settle."""
    pending = list(plan.in_phase(phase.name))
    healing: list[tuple[float, Heal]] = []
    deadline = time.monotonic() + SETTLE_BASE_S + SETTLE_PER_AGENT_S * len(cluster.agent_ids)
    while True:
        found = cluster.schedulers.leader()
        status = found[1] if found else None
        settled = status is not None and _settled(status, cluster)
        launches = disruptive_launches(cluster.schedulers.actions(), phase.start)
        while pending and _due(pending[0].moment, status, settled, launches):
            fault = pending.pop(0)
            heal = _inject(cluster, fault, result)
            if heal is not None:
                healing.append((time.monotonic() + HOLD_S, heal))
            settled = False  # judged before this fault: look again
        for item in [h for h in healing if h[0] <= time.monotonic()]:
            healing.remove(item)
            item[1]()
        if settled and not pending and not healing:
            phase.status, phase.end = status, time.time()
            return
        if time.monotonic() > deadline:
            for _, heal in healing:
                heal()
            state = None if status is None else status["rollout"]["state"]
            result.record(inv.END_STATE, [f"{phase.name} rollout did not settle in time "
                                          f"(state {state!r})"])
            _keep_evidence(cluster, f"unsettled-{phase.name}", status)
            phase.status, phase.end = status, time.time()
            return
        time.sleep(POLL_S)


def _keep_evidence(cluster: Cluster, name: str, status: dict | None) -> None:
    """Save what the master and the scheduler reported, for the report of a stuck run."""
    evidence = {"status": status, "master_state": _master_state(cluster)}
    path = cluster.stack.work_dir / f"{name}.json"
    path.write_text(json.dumps(evidence, indent=1, sort_keys=True))
    log.warning("rollout stuck; master and scheduler state saved in %s", path)


def _due(moment: scenario.Moment, status: dict | None, settled: bool, launches: int) -> bool:
    if settled:
        return True
    if moment.at_launch:
        return launches > moment.complete
    return status is not None and status["rollout"]["counts"]["complete"] >= moment.complete


def _settled(status: dict, cluster: Cluster) -> bool:
    """Complete or halted, with every agent the master has listed in the status."""
    if status["rollout"]["state"] not in inv.SETTLED_STATES:
        return False
    listed = {a["id"] for a in status["agents"]}
    return set(_present(cluster)) <= listed


def _inject(cluster: Cluster, fault: scenario.Fault, result: RunResult) -> Heal | None:
    try:
        heal = inject(cluster, fault, time.time())
    except InjectError as err:
        result.skipped.append(f"{fault.describe()}: {err}")
        log.info("seed %d: skipped %s: %s", result.seed, fault.describe(), err)
        return None
    result.injected[fault.kind] += 1
    log.info("seed %d: injected %s", result.seed, fault.describe())
    return heal


def _present(cluster: Cluster) -> list[str]:
    master = cluster.stack.cluster.master
    with master.lock:
        return list(master.agents)


def _check_phase(plan: scenario.ChaosPlan, phase: Phase, cluster: Cluster, events_file: Path,
                 result: RunResult) -> None:
    events = read_events(events_file)
    result.record(inv.END_STATE, inv.check_end_state(phase.status, _present(cluster),
                                                     cluster.permanently_faulted))
    result.record(inv.RESTARTS, inv.check_restarts(events, phase.start, phase.end,
                                                   cluster.permanently_faulted))
    labels = {agent_id: f"#{i}" for i, agent_id in enumerate(cluster.agent_ids)}
    observed = paths_between(events, phase.start, phase.end)
    result.paths[phase.name] = {labels[a]: observed.get(a, inv.NO_PATH)
                                for a in cluster.agent_ids}
    complete = {a["id"] for a in (phase.status or {}).get("agents", [])
                if a["state"] == "complete"} - cluster.permanently_faulted
    result.record(inv.PATHS, inv.check_paths(phase.name, _expected_paths(plan, phase, cluster),
                                             observed, complete, labels))
    stores = {agent_id: _docker_store(cluster, agent_id)
              for agent_id in sorted(complete & set(_present(cluster)))}
    result.record(inv.DOCKER_STORE, inv.check_docker_store(phase.store, stores, labels))
    result.record(inv.NETWORK, inv.check_network(phase.status, complete, labels))


def _expected_paths(plan: scenario.ChaosPlan, phase: Phase, cluster: Cluster) -> dict[str, str]:
    """Agent id -> its path in this rollout: in its first install, live unless the plan
    has its Docker run another store; in the change, a restart (the store changes)."""
    first = scenario.PHASE_INSTALL
    return {agent_id: plan.install_path(i)
            if cluster.added_in.get(agent_id, first) == phase.name else PATH_RESTART
            for i, agent_id in enumerate(cluster.agent_ids)}


def _docker_store(cluster: Cluster, agent_id: str) -> str | None:
    """The cluster store the agent's running Docker uses (libnetwork's, which a refused
    reload leaves as it was), None when Docker is not running."""
    host = HostDir(cluster.stack.cluster.master.agents[agent_id].spec.root)
    with host.locked():
        record = units.settle(host, DOCKER_UNIT, time.time())
    return record["netstore"] if record["state"] == units.ACTIVE else None


def _check_tasks(cluster: Cluster, result: RunResult) -> None:
    """Compare the master, etcd and the hosts, allowing reconciliation time to converge."""
    deadline = time.monotonic() + AGREE_DEADLINE_S
    while True:
        master_tasks = inv.live_master_tasks(_master_state(cluster), FRAMEWORK_NAME)
        records = _etcd_records(cluster)
        found = cluster.schedulers.leader()
        complete = {a["id"] for a in found[1]["agents"] if a["state"] == "complete"} \
            if found else set()
        checks = {
            inv.UNKNOWN_TASKS: inv.check_unknown_tasks(master_tasks, records),
            inv.ONE_NODE_PER_AGENT: inv.check_one_node_per_agent(
                master_tasks, complete, _node_containers(cluster, complete)),
            inv.RECORDS_AGREE: inv.check_records_agree(master_tasks, records),
        }
        if not any(checks.values()) or time.monotonic() > deadline:
            for name, problems in checks.items():
                result.record(name, problems)
            return
        time.sleep(POLL_S)


def _master_state(cluster: Cluster) -> dict:
    with urllib.request.urlopen(cluster.stack.cluster.url + "/master/state", timeout=10) as r:
        return json.loads(r.read())


def _etcd_records(cluster: Cluster) -> dict[str, dict]:
    host, port = cluster.stack.etcd.endpoint.removeprefix("http://").rsplit(":", 1)
    client = etcd3.client(host=host, port=int(port))
    prefix = f"{DEFAULT_ROOT}/{FRAMEWORK_NAME}/agents/"
    try:
        return {meta.key.decode()[len(prefix):]: json.loads(value)
                for value, meta in client.get_prefix(prefix)}
    finally:
        client.close()


def _node_containers(cluster: Cluster, agent_ids: set[str]) -> dict[str, int]:
    """Running calico-node containers per host of the given agents, as `docker ps` says."""
    counts = {}
    master = cluster.stack.cluster.master
    for agent_id in sorted(agent_ids - cluster.permanently_faulted):
        agent = master.agents.get(agent_id)
        if agent is None:
            continue
        docker = str(agent.spec.root / "bin" / "docker")
        out = subprocess.run([docker, "ps", "-q", "--filter", "name=calico-node"],
                             env={**os.environ, **agent.host_env},
                             capture_output=True, text=True, timeout=DOCKER_PS_TIMEOUT_S)
        counts[agent_id] = len(out.stdout.split())
    return counts
