"""Simulated hosts for the host tests: real directories, real stand-in processes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from devcluster.host.events import read_events
from devcluster.host.prepare import HostSpec, prepare_host

FAST_RESTART_S = 0.2
COMMAND_TIMEOUT_S = 30



class SimHost:
    """A prepared host plus helpers to run its stand-ins as a task on it would."""

    def __init__(self, root: Path, spec: HostSpec) -> None:
        self.root = root
        self.spec = spec
        self.env = {**os.environ, **prepare_host(root, spec)}

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(list(args), env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def is_active(self, unit: str) -> str:
        return self.run("systemctl", "is-active", unit).stdout.strip()

    def container_state(self, name: str) -> str:
        result = self.run("docker", "inspect", "-f", "{{.State.Status}}", name)
        return result.stdout.strip() if result.returncode == 0 else "missing"

    def events(self) -> list[dict]:
        return read_events(self.spec.events_file)

    @property
    def agent_unit(self) -> str:
        return "dcos-mesos-slave-public" if self.spec.public else "dcos-mesos-slave"

    @property
    def daemon_json(self) -> Path:
        return self.root / "etc/docker/daemon.json"


@pytest.fixture
def make_host(tmp_path: Path) -> Callable[..., SimHost]:
    """make_host(**HostSpec overrides) -> SimHost with fast restarts and an events file."""
    counter = iter(range(1, 1000))

    def make(**overrides: object) -> SimHost:
        number = next(counter)
        fields = {
            "agent_id": f"agent-S{number}",
            "hostname": f"host{number}",
            "ip": f"127.0.1.{number}",
            "events_file": tmp_path / f"events{number}.jsonl",
            "docker_restart_s": FAST_RESTART_S,
            "agent_restart_s": FAST_RESTART_S,
            **overrides,
        }
        return SimHost(tmp_path / f"host{number}", HostSpec(**fields))

    return make


@pytest.fixture
def host(make_host) -> SimHost:
    return make_host()
