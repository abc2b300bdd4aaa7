"""The scheduler processes of one chaos run, each with its own log, and what they did.

A run may have several `python -m framework` processes over its life (restarts after a
SIGKILL, a second scheduler started beside the first), so each gets its own port and log
file; the logs are how the run learns who took the leader lock and who launched or killed
what, and when.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from devcluster.ports import free_port
from devcluster.stack import DevStack

REPO = Path(__file__).resolve().parents[2]
STATUS_TIMEOUT_S = 2.0
STOP_GRACE_S = 10.0

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ \S+: (.*)$")
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"
ACTION_PATTERNS = (
    ("leader", re.compile(r"^leader lock acquired")),
    ("launch", re.compile(r"^launching (\S+) on")),
    ("kill", re.compile(r"^killing (\S+)")),
)
DISRUPTIVE_TASK_PREFIXES = ("calico-docker.", "calico-cni.")


@dataclass(frozen=True)
class Action:
    """One thing a scheduler logged doing: took the lock, launched or killed a task."""

    time: float
    scheduler: str
    kind: str
    task_id: str | None


@dataclass
class SchedulerProcess:
    name: str
    host: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def status(self) -> dict | None:
        """Its /v1/status, or None while it does not answer."""
        url = f"http://{self.host}:{self.port}/v1/status"
        try:
            with urllib.request.urlopen(url, timeout=STATUS_TIMEOUT_S) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.alive:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Schedulers:
    """Starts scheduler processes for a stack and finds the one that leads."""

    def __init__(self, stack: DevStack, log_dir: Path) -> None:
        self.stack = stack
        self.log_dir = log_dir
        self.started: list[SchedulerProcess] = []
        self.env: dict[str, str] = {}

    def start(self) -> SchedulerProcess:
        name = f"s{len(self.started) + 1}"
        port = free_port(self.stack.address)
        env = {**self.stack.scheduler_env(), **self.env, "PORT0": str(port)}
        log_path = self.log_dir / f"scheduler-{name}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "framework"], env=env, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=REPO)
        process = SchedulerProcess(name, self.stack.address, port, proc, log_path)
        self.started.append(process)
        return process

    def alive(self) -> list[SchedulerProcess]:
        return [s for s in self.started if s.alive]

    def leader(self) -> tuple[SchedulerProcess, dict] | None:
        """The live scheduler whose status says it leads, newest first, with that status."""
        for process in reversed(self.alive()):
            status = process.status()
            if status is not None and status.get("framework", {}).get("leader"):
                return process, status
        return None

    def stop_all(self) -> None:
        for process in self.alive():
            process.stop()

    def actions(self) -> list[Action]:
        return sorted((a for s in self.started for a in read_actions(s.log_path, s.name)),
                      key=lambda a: (a.time, a.kind == "leader"))


def read_actions(log_path: Path, scheduler: str) -> list[Action]:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    actions = []
    for line in lines:
        match = LOG_LINE.match(line)
        if not match:
            continue
        for kind, pattern in ACTION_PATTERNS:
            found = pattern.match(match.group(2))
            if found:
                when = datetime.strptime(match.group(1), LOG_TIME_FORMAT).timestamp()
                task = found.group(1) if found.groups() else None
                actions.append(Action(when, scheduler, kind, task))
    return actions


def disruptive_launches(actions: Iterable[Action], since: float) -> int:
    return sum(1 for a in actions if a.kind == "launch" and a.time >= since
               and (a.task_id or "").startswith(DISRUPTIVE_TASK_PREFIXES))
