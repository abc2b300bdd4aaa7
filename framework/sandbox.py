"""Read the installer's result file of a finished task from the agent that ran it.

Mesos tells the scheduler only "Command exited with status N"; the installer's one-line
reason and what it changed on the host are in its result file in the task's sandbox. A
real agent serves its sandboxes through `/files/read` on its own address (the one offers
carry in `url`, and `/master/slaves` in `pid`), by virtual path: the executor's latest run
directory `<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/
latest`, where `work_dir` comes from the agent's `/flags` and a command task's executor id
is its task id (apache/mesos 1.4.0: `src/files/files.cpp`, `src/slave/paths.cpp`
`getExecutorLatestRunPath`, `src/slave/slave.cpp` `Framework::addExecutor` and
`Slave::getExecutorInfo`, `src/slave/http.cpp` `Http::flags`). The path stays readable
after the task ends until the agent garbage-collects the sandbox.

Reads happen on one background thread, so the scheduler's worker never waits on an
agent; each report found is posted to the worker's inbox as `TaskReported`. A report that
cannot be read (agent gone, sandbox collected, no permission) is only logged: the page
then shows Mesos's message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests

from framework.config import (
    STEP_CALICO_NODE,
    STEP_CNI,
    STEP_DOCKER,
    STEP_ETCD_PROXY,
    STEP_VERIFY,
    Config,
)
from framework.engine import RecordError, TaskReport, TaskReported, parse_task_id
from framework.engine.errors import TaskIdError

log = logging.getLogger(__name__)

# The installer command each step's task runs (framework/taskinfo.py `_step_command`); the
# installer names its result file after it (installer/result.py `result_path`).
INSTALLER_COMMANDS = {STEP_ETCD_PROXY: "etcd-proxy", STEP_DOCKER: "docker", STEP_CNI: "cni",
                      STEP_CALICO_NODE: "node", STEP_VERIFY: "verify"}
# The terminal states of a task that ran: its sandbox and result file exist.
ENDED_STATES = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED"})
REQUEST_TIMEOUT_S = 10.0
MAX_RESULT_BYTES = 64 * 1024  # a read the agent answers in one go (16 pages)
QUEUE_LIMIT = 1000  # pending reads beyond this are dropped, not queued without bound


class SandboxError(Exception):
    """The result file could not be read; the message says why."""


@dataclass(frozen=True)
class ResultRead:
    task_id: str
    agent_id: str
    framework_id: str


def result_path(work_dir: str, read: ResultRead, step: str) -> str:
    """The virtual path of the task's result file on its agent."""
    return (f"{work_dir.rstrip('/')}/slaves/{read.agent_id}/frameworks/{read.framework_id}"
            f"/executors/{read.task_id}/runs/latest/calico-installer-{INSTALLER_COMMANDS[step]}"
            ".json")


class SandboxReader:
    """Reads result files of ended tasks and posts `TaskReported` events."""

    def __init__(self, config: Config, post: Callable[[object], None],
                 auth: requests.auth.AuthBase | tuple[str, str] | None = None,
                 locate: Callable[[str], str | None] | None = None) -> None:
        self.scheme = config.mesos.scheme
        self.verify_tls: str | bool = config.dcos_ca_file or True
        self.post = post
        self.auth = auth
        self.locate = locate  # agent id -> "host:port" from the master, when no offer said
        self._addresses: dict[str, str] = {}
        self._work_dirs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[ResultRead | None] = queue.Queue(QUEUE_LIMIT)
        self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-reader")

    def start(self) -> SandboxReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):  # a full queue: the daemon thread just ends
            self._queue.put_nowait(None)

    def note_offer(self, offer: dict) -> None:
        """Remember where the offering agent answers (the offer's `url`)."""
        address = (offer.get("url") or {}).get("address") or {}
        host = address.get("ip") or address.get("hostname")
        agent_id = (offer.get("agent_id") or {}).get("value")
        if host and address.get("port") and agent_id:
            with self._lock:
                self._addresses[agent_id] = f"{host}:{int(address['port'])}"

    def task_ended(self, task_id: str, state: str, agent_id: str | None,
                   framework_id: str | None) -> None:
        """Queue a read when a task of ours that ran has ended."""
        if state not in ENDED_STATES or not agent_id or not framework_id:
            return
        try:
            self._queue.put_nowait(ResultRead(task_id, agent_id, framework_id))
        except queue.Full:
            log.warning("too many result files to read; not reading %s's", task_id)

    def _run(self) -> None:
        while True:
            read = self._queue.get()
            if read is None:
                return
            try:
                report = self.read(read)
            except SandboxError as err:
                log.info("no installer result for %s: %s", read.task_id, err)
                continue
            self.post(TaskReported(read.task_id, report))

    def read(self, read: ResultRead) -> TaskReport:
        """The installer's report of the task; SandboxError when it cannot be read."""
        try:
            step, _ = parse_task_id(read.task_id)
        except TaskIdError:
            raise SandboxError("not one of this framework's tasks") from None
        base = f"{self.scheme}://{self._address(read.agent_id)}"
        path = result_path(self._work_dir(base, read.agent_id), read, step)
        answer = self._get(f"{base}/files/read",
                           {"path": path, "offset": 0, "length": MAX_RESULT_BYTES})
        try:
            return TaskReport.from_result_file(json.loads(answer["data"]))
        except (KeyError, TypeError, ValueError, RecordError) as err:
            raise SandboxError(f"{path} is not an installer result: {err}") from None

    def _address(self, agent_id: str) -> str:
        with self._lock:
            address = self._addresses.get(agent_id)
        if address is None and self.locate is not None:
            address = self.locate(agent_id)
        if address is None:
            raise SandboxError(f"where agent {agent_id} answers is not known")
        return address

    def _work_dir(self, base: str, agent_id: str) -> str:
        with self._lock:
            known = self._work_dirs.get(agent_id)
        if known is not None:
            return known
        work_dir = (self._get(f"{base}/flags", {}).get("flags") or {}).get("work_dir")
        if not isinstance(work_dir, str) or not work_dir.startswith("/"):
            raise SandboxError(f"agent {agent_id} did not say its work_dir")
        with self._lock:
            self._work_dirs[agent_id] = work_dir
        return work_dir

    def _get(self, url: str, params: dict) -> dict:
        try:
            response = requests.get(url, params=params, auth=self.auth,
                                    timeout=REQUEST_TIMEOUT_S, verify=self.verify_tls)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as err:
            raise SandboxError(str(err)) from None
        if not isinstance(document, dict):
            raise SandboxError(f"{url} did not answer with a JSON object")
        return document
