"""A simulated Mesos agent: runs command tasks as real processes in per-task sandboxes.

It behaves as an agent with the Mesos containerizer and the command executor does:
fetch URIs, TASK_STARTING (1.8.x only) then TASK_RUNNING, TASK_FINISHED/FAILED from the
exit status, TASK_KILLING (when the framework asked for it) then TASK_KILLED after SIGTERM
and a grace period, COMMAND/HTTP health checks, and reliable status updates resent with
backoff until acknowledged. Restarting its unit kills the tasks of frameworks without
`checkpoint`; after a restart an executor that cannot re-register (its process is
stopped) is killed and its task ends TASK_GONE (slave.cpp `Slave::reregisterExecutorTimeout`).

`state` is the master's view of the agent: active (registered and connected),
disconnected (registered; its unit is down), unreachable, recovered (known from the
registry after a master failover, not re-registered yet) or removed. `unit_state` is the
host's systemd view of its agent unit, `partitioned` a network partition from the master.

All it uses of the master comes through a `MasterLink`; all state is guarded by the link's
lock; process waits and fetches run on worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devcluster import cni, netns
from devcluster.errors import FetchError
from devcluster.fetcher import fetch_all
from devcluster.master_records import AgentTask
from devcluster.protocol import TERMINAL_STATES, Resources, new_uuid_b64
from devcluster.versions import DCOS_FLAGS, MesosVersion

log = logging.getLogger(__name__)

DEFAULT_KILL_GRACE_S = 3.0
HEALTH_CHECK_TIMEOUT_S = 20.0
STATUS_RETRY_MAX_S = 600.0
CHECK_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class AgentSpec:
    id: str
    hostname: str
    ip: str
    public: bool
    root: Path
    work_dir: Path
    netns: str | None = None  # the host's network namespace (None: this machine's network)
    cpus: float = 4.0
    mem: float = 14021.0
    http_port: int = 5051  # where its /flags and /files/read answer (devcluster.agent_http)
    disk: float = 35566.0
    ports: tuple[tuple[int, int], ...] = ((1025, 2180), (2182, 3887), (3889, 5049),
                                          (5052, 8079), (8082, 8180), (8182, 32000))

    @property
    def role(self) -> str:
        """The role all of the agent's resources are reserved for: DC/OS starts public
        agents with --default_role=slave_public, private ones unreserved."""
        return DCOS_FLAGS.public_agent_role if self.public else "*"

    @property
    def attribute(self) -> tuple[str, str]:
        return DCOS_FLAGS.public_agent_attribute

    def total_resources(self) -> Resources:
        return Resources({"cpus": self.cpus, "mem": self.mem, "disk": self.disk},
                         list(self.ports))


@dataclass(frozen=True)
class MasterLink:
    """All an agent may use of its master, handed to it by the master: what a real agent
    exchanges with its master as messages (status updates, an exited executor), the
    cluster's Mesos version and first status-update retry interval, the master's timers
    and injected faults, and the one lock that guards the whole emulated cluster."""

    lock: threading.RLock
    mesos: MesosVersion
    status_retry_s: float  # slave/constants.hpp STATUS_UPDATE_RETRY_INTERVAL_MIN
    call_later: Callable[[float, Callable[[], None]], None]
    take_fetch_failure: Callable[[str], bool]  # agent id -> fail this fetch
    forward_update: Callable[[str, dict], None]  # framework id, status
    task_ended: Callable[[AgentTask], None]
    executor_exited: Callable[[SimulatedAgent, AgentTask], None]
    framework_removed: Callable[[str], bool]  # nobody will acknowledge its updates
    wants_killing_state: Callable[[str], bool]  # the framework asked for TASK_KILLING


class SimulatedAgent:
    def __init__(self, link: MasterLink, spec: AgentSpec, host_env: dict[str, str]) -> None:
        self.link = link
        self.spec = spec
        self.host_env = host_env
        self.state = "active"  # active|disconnected|unreachable|recovered|removed
        self.unit_state = "active"  # active | activating | inactive
        self.partitioned = False
        self.unit_active_since: float | None = time.time()
        self.unit_restarts = 0
        self.registered_time = time.time()
        self.reregistered_time: float | None = None
        self.unreachable_since: float | None = None
        self.tasks: dict[str, AgentTask] = {}
        self.free: dict[str, Resources] = {spec.role: spec.total_resources()}

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def connected(self) -> bool:
        return self.state == "active"

    @property
    def unit(self) -> str:
        """The systemd unit of this agent on a DC/OS host."""
        return "dcos-mesos-slave-public" if self.spec.public else "dcos-mesos-slave"

    # -- task launch -------------------------------------------------------------------

    def launch(self, task: AgentTask) -> None:
        """Called under the master lock with resources already taken from the offer."""
        self.tasks[task.task_id] = task
        threading.Thread(target=self._start_task, args=(task,), name=f"task-{task.task_id}",
                         daemon=True).start()

    def _start_task(self, task: AgentTask) -> None:
        """Sandbox, fetch (outside the lock: it may be slow), then spawn, all from the
        host's network namespace, as the agent's fetcher and executor run on the host."""
        with netns.entered(self.spec.netns):
            self._fetch_and_spawn(task)

    def _fetch_and_spawn(self, task: AgentTask) -> None:
        command = task.info.get("command") or {}
        try:
            task.sandbox.mkdir(parents=True, exist_ok=True)
            if self.link.take_fetch_failure(self.id):
                raise FetchError("injected fetch failure")
            fetch_all(command.get("uris") or [], task.sandbox)
        except (OSError, ValueError) as err:  # ValueError: a NUL byte in the sandbox path
            self._fail_launch(task, f"Failed to create the sandbox: {err}")
            return
        except FetchError as err:
            self._fail_launch(task, f"Failed to fetch all URIs for container: {err}")
            return
        if self.spec.netns is not None and cni.wants_networks(task.info):
            try:
                task.netns = netns.add_container_netns(task.container_id)
            except netns.NetnsError as err:
                self._fail_launch(task, f"Failed to launch container: {err}")
                return
        try:
            task.networks = cni.attach(self.spec.root, task.container_id, task.info,
                                       _netns_path(task))
        except (cni.CniError, OSError, subprocess.SubprocessError) as err:
            # The launch failed: the container is destroyed, and the isolator's cleanup
            # runs DEL for every network it asked for before its namespace goes.
            cni.detach(self.spec.root, task.container_id, cni.requested(task.info),
                       _netns_path(task))
            self._drop_container_netns(task)
            self._fail_launch(task, f"Failed to launch container: {err}")
            return
        with self.link.lock:
            if task.kill_pending or task.terminal or not self._task_still_wanted(task):
                if not task.terminal:
                    self._update(task, "TASK_KILLED", "Task killed before it started",
                                 reason="REASON_TASK_KILLED_DURING_LAUNCH")
                return
            try:
                # The task's process starts inside its container's network namespace.
                with netns.entered(task.netns):
                    task.proc = self._spawn(task, command)
            except (OSError, ValueError, netns.NetnsError) as err:  # ValueError: a NUL byte
                self._fail_launch(task, f"Failed to launch container: {err}")
                return
            task.started_at = time.time()
            if self.link.mesos.command_executor_sends_starting:
                self._update(task, "TASK_STARTING", None)
            self._update(task, "TASK_RUNNING", None)
            self._schedule_health_check(task, first=True)
        proc = task.proc
        threading.Thread(target=self._wait_task, args=(task, proc),
                         name=f"wait-{task.task_id}", daemon=True).start()

    def _drop_container_netns(self, task: AgentTask) -> None:
        """The container is destroyed: its network namespace goes (whatever is left in it
        goes with it)."""
        if task.netns is not None:
            netns.delete_netns(task.netns)
            task.netns = None

    def _fail_launch(self, task: AgentTask, message: str) -> None:
        with self.link.lock:
            if not task.terminal:  # the master may have ended it with a lost agent
                self._update(task, "TASK_FAILED", message,
                             reason="REASON_CONTAINER_LAUNCH_FAILED", source="SOURCE_AGENT")

    def _task_still_wanted(self, task: AgentTask) -> bool:
        return self.tasks.get(task.task_id) is task and self.state != "removed"

    def _spawn(self, task: AgentTask, command: dict) -> subprocess.Popen:
        env = dict(os.environ)
        env.update(self.host_env)
        env.update({
            "MESOS_SANDBOX": str(task.sandbox),
            "MESOS_DIRECTORY": str(task.sandbox),
            "MESOS_TASK_ID": task.task_id,
            "MESOS_EXECUTOR_ID": task.task_id,
            "MESOS_FRAMEWORK_ID": task.framework_id,
            "MESOS_AGENT_ID": self.id,
            "MESOS_AGENT_ENDPOINT": f"{self.spec.ip}:{self.spec.http_port}",
            "LIBPROCESS_IP": self.spec.ip,
            "HOST": self.spec.hostname,
        })
        for var in (command.get("environment") or {}).get("variables") or []:
            if isinstance(var, dict) and isinstance(var.get("name"), str):
                env[var["name"]] = str(var.get("value", ""))
        if command.get("shell", True):
            argv = ["/bin/sh", "-c", command.get("value", "")]
        else:
            arguments = list(command.get("arguments") or [])
            argv = [command.get("value", "")] + arguments[1:]
        with open(task.sandbox / "stdout", "ab") as out, open(task.sandbox / "stderr", "ab") as err:
            return subprocess.Popen(argv, cwd=task.sandbox, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)

    def _wait_task(self, task: AgentTask, proc: subprocess.Popen) -> None:
        code = proc.wait()
        if task.networks:
            try:
                with netns.entered(self.spec.netns):
                    cni.detach(self.spec.root, task.container_id, task.networks,
                               _netns_path(task))
            except netns.NetnsError:
                log.warning("cannot detach %s: the host's namespace is gone", task.task_id)
        self._drop_container_netns(task)
        with self.link.lock:
            if task.terminal or task.lost_with_agent:
                return
            if task.killing:
                # A task killed for failing its health checks ends unhealthy.
                self._update(task, "TASK_KILLED", _exit_message(code),
                             healthy=False if task.healthy is False else None)
            elif code == 0:
                self._update(task, "TASK_FINISHED", _exit_message(code))
            else:
                self._update(task, "TASK_FAILED", _exit_message(code))

    # -- kill ----------------------------------------------------------------------------

    def kill(self, task: AgentTask, killing_state: bool, grace_s: float | None = None) -> None:
        if task.terminal:
            return
        if not self.connected:
            task.kill_pending = True
            return
        if task.proc is None:
            task.kill_pending = True
            if task.state == "TASK_STAGING":
                return
        if task.killing:
            return
        task.killing = True
        if killing_state:
            self._update(task, "TASK_KILLING", None)
        grace = grace_s
        if grace is None:
            nanos = (((task.info.get("kill_policy") or {}).get("grace_period") or {})
                     .get("nanoseconds"))
            grace = nanos / 1e9 if isinstance(nanos, (int, float)) else DEFAULT_KILL_GRACE_S
        _signal_group(task.proc, signal.SIGTERM)
        proc = task.proc
        self.link.call_later(grace, lambda: _signal_group(proc, signal.SIGKILL))

    # -- status updates ----------------------------------------------------------------------

    def _update(self, task: AgentTask, state: str, message: str | None, *,
                reason: str | None = None, source: str = "SOURCE_EXECUTOR",
                healthy: bool | None = None) -> None:
        status = {
            "task_id": {"value": task.task_id},
            "state": state,
            "source": source,
            "agent_id": {"value": self.id},
            "executor_id": {"value": task.task_id},
            "timestamp": time.time(),
            "uuid": new_uuid_b64(),
            "container_status": self._container_status(task),
        }
        if message:
            status["message"] = message
        if reason:
            status["reason"] = reason
        if healthy is not None:
            status["healthy"] = healthy
        task.state = state
        task.statuses.append({k: v for k, v in status.items() if k != "uuid"})
        if state in TERMINAL_STATES:
            self._release(task)
        task.pending_updates.append(status)
        if len(task.pending_updates) == 1:
            task.retry_s = self.link.status_retry_s
            self._send_head(task)

    def _container_status(self, task: AgentTask) -> dict:
        """Command tasks share the host network: Mesos reports the agent's address; a task
        on CNI networks gets each network's address, when its plugin reported one."""
        if not task.networks:
            return {"container_id": {"value": task.container_id},
                    "network_infos": [{"ip_addresses": [{"protocol": "IPv4",
                                                          "ip_address": self.spec.ip}]}]}
        return {"container_id": {"value": task.container_id},
                "network_infos": [
                    {"name": n.network,
                     "ip_addresses": [{"protocol": "IPv4", "ip_address": n.ip}] if n.ip else []}
                    for n in task.networks]}

    def _release(self, task: AgentTask) -> None:
        self.free.setdefault(task.role, Resources()).add(task.resources)
        self.link.task_ended(task)
        if task.executor_known:
            # The command executor exits once its task has ended.
            self.link.executor_exited(self, task)

    def _send_head(self, task: AgentTask) -> None:
        if self.link.framework_removed(task.framework_id):
            # The framework is gone for good: nobody will acknowledge, so stop retrying.
            task.pending_updates.clear()
            if task.terminal:
                self.tasks.pop(task.task_id, None)
            return
        if not task.pending_updates or not self.connected:
            return
        head = task.pending_updates[0]
        self.link.forward_update(task.framework_id, head)
        head_uuid = head["uuid"]
        delay = task.retry_s
        task.retry_s = min(task.retry_s * 2, STATUS_RETRY_MAX_S)
        self.link.call_later(delay, lambda: self._retry(task, head_uuid))

    def _retry(self, task: AgentTask, update_uuid: str) -> None:
        with self.link.lock:
            if task.pending_updates and task.pending_updates[0]["uuid"] == update_uuid:
                self._send_head(task)

    def acknowledge(self, task_id: str, update_uuid: str) -> bool:
        task = self.tasks.get(task_id)
        if task is None or not task.pending_updates \
                or task.pending_updates[0]["uuid"] != update_uuid:
            return False
        task.pending_updates.pop(0)
        if task.pending_updates:
            task.retry_s = self.link.status_retry_s
            self._send_head(task)
        elif task.terminal:
            self.tasks.pop(task_id, None)
        return True

    def resend_pending(self) -> None:
        for task in list(self.tasks.values()):
            if task.pending_updates:
                task.retry_s = self.link.status_retry_s
                self._send_head(task)

    # -- health checks -------------------------------------------------------------------------

    def _schedule_health_check(self, task: AgentTask, first: bool = False) -> None:
        check = task.info.get("health_check")
        if not check or task.terminal:
            return
        delay = check.get("delay_seconds", 15.0) if first else check.get("interval_seconds", 10.0)
        self.link.call_later(float(delay), lambda: threading.Thread(
            target=self._run_health_check, args=(task, check), daemon=True).start())

    def _run_health_check(self, task: AgentTask, check: dict) -> None:
        ok = _health_check_passes(check, task, self)
        with self.link.lock:
            task.health_checks_run += 1
            # The executor keeps checking while its agent is cut off or restarting (the
            # checker lives in the executor: apache/mesos 1.4.0 src/launcher/executor.cpp);
            # the updates wait in the agent's queue until it is connected again.
            if task.terminal or task.killing:
                return
            grace = float(check.get("grace_period_seconds", 10.0))
            if ok:
                task.health_failures = 0
                if task.healthy is not True:
                    task.healthy = True
                    self._update(task, "TASK_RUNNING", None, healthy=True,
                                 reason="REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")
            elif task.healthy is True or time.time() - task.started_at > grace:
                task.health_failures += 1
                task.healthy = False
                self._update(task, "TASK_RUNNING", "health check failed", healthy=False,
                             reason="REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")
                if task.health_failures >= int(check.get("consecutive_failures", 3)):
                    self.kill(task,
                              killing_state=self.link.wants_killing_state(task.framework_id))
                    return
            self._schedule_health_check(task)

    # -- unit restarts and faults ----------------------------------------------------------------

    def go_down(self, unit_state: str, checkpointed: set[str] | None) -> list[AgentTask]:
        """The agent process stops: executors of frameworks not in `checkpointed` die
        with it (all of them when it is None: the agent shuts down for good)."""
        self.unit_state = unit_state
        self.unit_active_since = None
        killed = []
        for task in self.tasks.values():
            if task.terminal:
                continue
            if checkpointed is None or task.framework_id not in checkpointed:
                task.lost_with_agent = True
                _signal_group(task.proc, signal.SIGKILL)
                killed.append(task)
        return killed

    def unit_up(self) -> None:
        self.unit_state = "active"
        self.unit_active_since = time.time()

    def come_up(self) -> None:
        """The agent (re-)registered with the master."""
        self.state = "active"
        self.reregistered_time = time.time()
        self.unreachable_since = None
        for task in self.tasks.values():
            if task.kill_pending and not task.terminal:
                task.kill_pending = False
                self.kill(task, killing_state=False)

    def shut_down_task(self, task: AgentTask) -> None:
        """ShutdownFrameworkMessage: the executor is killed and nobody hears of its task."""
        task.lost_with_agent = True
        task.pending_updates.clear()
        _signal_group(task.proc, signal.SIGKILL)
        self.tasks.pop(task.task_id, None)
        self.free.setdefault(task.role, Resources()).add(task.resources)

    def hung_executors(self) -> list[AgentTask]:
        """Live tasks whose executor cannot re-register: its process is stopped."""
        return [t for t in self.tasks.values()
                if not t.terminal and t.proc is not None and _stopped(t.proc)]

    def end_hung(self, task: AgentTask, state: str, message: str) -> None:
        """`reregisterExecutorTimeout`: destroy the container, end the task."""
        task.killing = True
        _signal_group(task.proc, signal.SIGCONT)
        _signal_group(task.proc, signal.SIGKILL)
        self._update(task, state, message, reason="REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
                     source="SOURCE_AGENT")

    def kill_all(self) -> None:
        for task in self.tasks.values():
            _signal_group(task.proc, signal.SIGKILL)


def _netns_path(task: AgentTask) -> str | None:
    return None if task.netns is None else str(netns.NETNS_DIR / task.netns)


def _health_check_passes(check: dict, task: AgentTask, agent: SimulatedAgent) -> bool:
    """The check as the executor runs it: inside the task's network namespace (its own
    when it joined CNI networks, the host's otherwise), HTTP and TCP checks aimed at
    127.0.0.1 (apache/mesos 1.4.0 src/checks/health_checker.cpp, `DEFAULT_DOMAIN`)."""
    try:
        with netns.entered(task.netns or agent.spec.netns):
            return _run_check(check, task, agent)
    except netns.NetnsError:  # the container (or host) is gone
        return False


def _run_check(check: dict, task: AgentTask, agent: SimulatedAgent) -> bool:
    kind = check.get("type", "COMMAND")
    timeout = float(check.get("timeout_seconds", HEALTH_CHECK_TIMEOUT_S))
    try:
        if kind == "COMMAND":
            value = (check.get("command") or {}).get("value", "")
            env = dict(os.environ, **agent.host_env, MESOS_SANDBOX=str(task.sandbox))
            result = subprocess.run(["/bin/sh", "-c", value], cwd=task.sandbox, env=env,
                                    capture_output=True, timeout=timeout)
            return result.returncode == 0
        if kind == "HTTP":
            http = check.get("http") or {}
            url = f"{http.get('scheme', 'http')}://{CHECK_ADDRESS}:{http.get('port')}" \
                  f"{http.get('path', '/')}"
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return 200 <= resp.status < 400
        if kind == "TCP":
            port = (check.get("tcp") or {}).get("port")
            with socket.create_connection((CHECK_ADDRESS, port), timeout=timeout):
                return True
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    return False


def _stopped(proc: subprocess.Popen) -> bool:
    """True when the process is stopped (SIGSTOP): state T in /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["T"]


def _signal_group(proc: subprocess.Popen | None, sig: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _exit_message(code: int) -> str:
    if code < 0:
        return f"Command terminated with signal {signal.strsignal(-code)}"
    return f"Command exited with status {code}"
