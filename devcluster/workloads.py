"""Other people's workloads on every agent, and a record of each one an install loses.

On every agent the dev cluster runs, before the scheduler starts, `per_agent` workloads of
each kind an operator's cluster has:

- Mesos command tasks of a framework that does not checkpoint (`checkpoint: false`), run by
  a real pymesos driver against the master emulator. When the agent process stops it shuts
  such frameworks down (apache/mesos 1.4.3 and bb32bf87 `src/slave/slave.cpp`
  `Slave::finalize`: "We shut down the framework only if it has disabled checkpointing"),
  their executors do not wait for it to come back (1.4.3 `src/exec/exec.cpp`
  `ExecutorProcess::exited`: only "if (checkpoint && connected)" does it wait for the agent's
  recovery), and a restarted agent recovers only checkpointed frameworks (`Slave::recover`
  reads them from its meta directory). The master emulator models this
  (devcluster/lifecycle.py `_agent_down`); these tasks end TASK_LOST.
- Docker containers, as the Docker containerizer runs them for a framework that
  checkpoints (Marathon): started through the agent's `docker` stand-in, detached, with no
  restart policy. An agent restart leaves them running (the agent recovers them); a Docker
  daemon restart keeps them only where the dockerd stand-in says so (live-restore).

Nothing here decides what survives: a watcher observes the containers' state, and the
framework its tasks' status updates. Each workload that stops running or restarts is lost
once, written to the events file (devcluster/host/events.py) as
`{"unit": "workload:<name>", "action": "lost", "phase": "end", "ok": false, "kind",
"reason"}` with the agent's `agent_id` and `hostname`. Lost workloads stay lost until
`replace_lost` starts them again (a benchmark does, before it measures a second change).
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pymesos import MesosSchedulerDriver, Scheduler

from devcluster.host import containers
from devcluster.host.events import append_event
from devcluster.host.hostdir import HostDir

if TYPE_CHECKING:
    from devcluster.agent import SimulatedAgent
    from devcluster.cluster import LocalCluster

log = logging.getLogger(__name__)

FRAMEWORK_NAME = "devcluster-workloads"
IMAGE = "busybox:1.36"
TASK_COMMAND = "sleep 2147483647"
TASK_CPUS = 0.01
TASK_MEM = 8.0
WATCH_INTERVAL_S = 0.25
DECLINE_FOR_S = 3600.0  # every wanted task is launched at once; later offers are not needed
DOCKER_CLI_TIMEOUT_S = 30.0
TERMINAL = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
                      "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"})
KINDS = ("task", "docker")


class WorkloadError(RuntimeError):
    pass


@dataclass(frozen=True)
class Workload:
    kind: str  # "task" (Mesos command task) or "docker" (container)
    name: str  # unique on its agent: "task-1", "docker-1", ...
    agent_id: str
    hostname: str

    @property
    def container_name(self) -> str:
        return f"workload-{self.name}"


@dataclass
class _Watched:
    workload: Workload
    handle: str | None = None  # the container id, or the task id once launched
    launches: int = 0
    started_at: str | None = None
    running: bool = False
    lost: str | None = None  # the reason, once lost


class Workloads:
    """`per_agent` tasks and containers on every agent of `cluster`; `lost()` lists losses."""

    def __init__(self, cluster: LocalCluster, per_agent: int) -> None:
        self.cluster = cluster
        self.events_file: Path | None = cluster.options.events_file
        self.lock = threading.Lock()
        self.watched: dict[tuple[str, str], _Watched] = {}
        for agent in cluster.master.agents.values():
            for kind in KINDS:
                for index in range(1, per_agent + 1):
                    workload = Workload(kind, f"{kind}-{index}", agent.id, agent.spec.hostname)
                    self.watched[(agent.id, workload.name)] = _Watched(workload)
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="workload-watcher",
                                         daemon=True)
        self.driver: MesosSchedulerDriver | None = None

    def start(self, deadline_s: float = 120.0) -> Workloads:
        """Start every workload and return once all of them run."""
        if not self.watched:
            return self
        for agent in self.cluster.master.agents.values():
            for entry in self._of(agent.id, "docker"):
                self._run_container(agent, entry)
        self.driver = MesosSchedulerDriver(
            _WorkloadScheduler(self), self._framework_info(),
            self.cluster.url.removeprefix("http://"), implicit_acknowledgements=True)
        self.driver.start()
        self._watcher.start()
        self._wait_running(deadline_s)
        return self

    def replace_lost(self, deadline_s: float = 120.0) -> int:
        """Start every lost workload again (a new task, a new container) and return once all
        run; returns how many were replaced."""
        with self.lock:
            lost = [w for w in self.watched.values() if w.lost]
            for entry in lost:
                entry.lost, entry.running, entry.handle = None, False, None
        agents = self.cluster.master.agents
        for entry in lost:
            if entry.workload.kind == "docker":
                self._run_container(agents[entry.workload.agent_id], entry, replace=True)
        if self.driver is not None and any(w.workload.kind == "task" for w in lost):
            self.driver.reviveOffers()
        self._wait_running(deadline_s)
        return len(lost)

    def _wait_running(self, deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        while not self._all_running():
            if time.monotonic() > end:
                raise WorkloadError(f"workloads not all running after {deadline_s}s")
            time.sleep(WATCH_INTERVAL_S)

    def stop(self) -> None:
        """Stop watching, then tear the framework down (its tasks end; none counts as lost)."""
        self._stop.set()
        if self._watcher.is_alive():
            self._watcher.join()
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.stop(failover=False)
            driver.join()

    def lost(self) -> list[dict]:
        """Every workload lost so far: kind, name, agent_id, hostname, reason."""
        with self.lock:
            return [{"kind": w.workload.kind, "name": w.workload.name,
                     "agent_id": w.workload.agent_id, "hostname": w.workload.hostname,
                     "reason": w.lost} for w in self.watched.values() if w.lost]

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"workloads": len(self.watched),
                    "running": sum(w.running and not w.lost for w in self.watched.values()),
                    "lost": sum(bool(w.lost) for w in self.watched.values())}

    # -- the framework's side ---------------------------------------------------------------

    def _framework_info(self) -> dict:
        return {"user": "root", "name": FRAMEWORK_NAME, "hostname": self.cluster.address,
                "checkpoint": False, "roles": ["*", "slave_public"],
                "capabilities": [{"type": "MULTI_ROLE"}]}

    def _of(self, agent_id: str, kind: str) -> list[_Watched]:
        return [w for (aid, _), w in self.watched.items()
                if aid == agent_id and w.workload.kind == kind]

    def tasks_to_launch(self, agent_id: str) -> list[str]:
        """Ids for the tasks on `agent_id` not launched yet, marked launched."""
        with self.lock:
            wanted = [w for w in self._of(agent_id, "task") if w.handle is None]
            for entry in wanted:
                entry.launches += 1
                entry.handle = f"workload-{entry.workload.name}.{agent_id}.{entry.launches}"
            return [w.handle for w in wanted]

    def all_launched(self) -> bool:
        with self.lock:
            return all(w.handle for w in self.watched.values())

    def task_update(self, task_id: str, state: str, message: str,
                    when: float | None = None) -> None:
        with self.lock:
            entry = next((w for w in self.watched.values()
                          if w.workload.kind == "task" and w.handle == task_id), None)
            if entry is None or self._stop.is_set():
                return
            if state == "TASK_RUNNING":
                entry.running = True
            elif state in TERMINAL and entry.lost is None:
                self._lose(entry, f"{state}: {message}" if message else state, when)

    # -- the containers' side ---------------------------------------------------------------

    def _run_container(self, agent: SimulatedAgent, entry: _Watched,
                       replace: bool = False) -> None:
        name = entry.workload.container_name
        env = {**os.environ, **agent.host_env}
        if replace:  # the exited container keeps its name until removed
            subprocess.run(["docker", "rm", "-f", name], env=env, capture_output=True,
                           timeout=DOCKER_CLI_TIMEOUT_S, check=False)
        proc = subprocess.run(
            ["docker", "run", "-d", "--name", name, "--restart", "no", IMAGE, "sleep", "inf"],
            env=env, capture_output=True, text=True, timeout=DOCKER_CLI_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            raise WorkloadError(f"docker run {name} on {agent.spec.hostname}: "
                                f"{proc.stderr.strip()}")
        record = containers.load(HostDir(agent.spec.root))["containers"][proc.stdout.strip()]
        with self.lock:
            entry.handle = record["Id"]
            entry.started_at = record["State"]["StartedAt"]
            entry.running = True

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL_S):
            for agent in list(self.cluster.master.agents.values()):
                entries = self._of(agent.id, "docker")
                if not entries:
                    continue
                state = containers.load(HostDir(agent.spec.root))["containers"]
                with self.lock:
                    if self._stop.is_set():
                        return
                    for entry in entries:
                        if entry.lost is None and entry.handle is not None:
                            record = state.get(entry.handle)
                            reason = _container_loss(record, entry)
                            if reason:
                                self._lose(entry, reason, record and containers.finished(record))

    def _all_running(self) -> bool:
        with self.lock:
            return all(w.running or w.lost for w in self.watched.values())

    def _lose(self, entry: _Watched, reason: str, when: float | None) -> None:
        """Called with the lock held; `when` it happened (None: now)."""
        entry.lost = reason
        entry.running = False
        workload = entry.workload
        log.info("workload %s on %s lost: %s", workload.name, workload.hostname, reason)
        if self.events_file is not None:
            append_event(self.events_file, agent_id=workload.agent_id,
                         hostname=workload.hostname, unit=f"workload:{workload.name}",
                         action="lost", phase="end", ok=False, kind=workload.kind,
                         reason=reason, time=when)


def _container_loss(record: dict | None, entry: _Watched) -> str | None:
    """Why the watched container no longer runs the process it was started with, or None."""
    if record is None:
        return "container removed"
    state = record["State"]
    if not state["Running"]:
        return f"container exited with {state['ExitCode']}"
    if state["StartedAt"] != entry.started_at:
        return "container restarted"
    return None


class _WorkloadScheduler(Scheduler):
    """Launches the wanted command tasks on the first offer of each agent."""

    def __init__(self, workloads: Workloads) -> None:
        self.workloads = workloads

    def resourceOffers(self, driver, offers):  # noqa: N802 - pymesos API
        for offer in offers:
            wanted = self.workloads.tasks_to_launch(offer["agent_id"]["value"])
            filters = {"refuse_seconds": DECLINE_FOR_S}
            if wanted:
                driver.launchTasks(offer["id"], [_task_info(offer, t) for t in wanted], filters)
            else:
                driver.declineOffer(offer["id"], filters)
        if self.workloads.all_launched():
            driver.suppressOffers()

    def statusUpdate(self, driver, update):  # noqa: N802 - pymesos API
        self.workloads.task_update(update["task_id"]["value"], update["state"],
                                   update.get("message", ""), update.get("timestamp"))


def _task_info(offer: dict, task_id: str) -> dict:
    role = offer.get("allocation_info", {}).get("role", "*")
    reserved = offer["resources"][0].get("role", "*")
    resources = []
    for name, value in (("cpus", TASK_CPUS), ("mem", TASK_MEM)):
        resource = {"name": name, "type": "SCALAR", "scalar": {"value": value},
                    "role": reserved, "allocation_info": {"role": role}}
        if reserved != "*":
            resource["reservations"] = [{"type": "STATIC", "role": reserved}]
        resources.append(resource)
    return {"task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "name": task_id, "resources": resources,
            "command": {"value": TASK_COMMAND, "shell": True}}
