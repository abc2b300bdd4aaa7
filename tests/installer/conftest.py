"""Simulated DC/OS hosts and the built installer .pyz for the installer tests."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster.host import faults
from devcluster.host.events import read_events
from devcluster.host.prepare import prepare_host
from devcluster.host.spec import HostSpec
from installer import build
from tests.wait import wait_until

RESTART_S = 0.05
# The restart timeout bounds `systemctl restart` itself: a loaded machine can take seconds
# to start the stand-in, and a restart cut short is rightly issued again by the next run.
# Tests that need the timeout to expire pass a short one.
FAST_TIMING = ["--restart-timeout", "30", "--stable-for", "0.1", "--poll-interval", "0.03"]
# As the scheduler launches a step that holds a restart slot.
RESTART_OK = [*FAST_TIMING, "--allow-restart"]
RUN_TIMEOUT_S = 60
HOST_STATE = "var/lib/devcluster"


@pytest.fixture(scope="session")
def pyz(tmp_path_factory) -> Path:
    return Path(build.build(str(tmp_path_factory.mktemp("pyz"))))


class SimHost:
    """One prepared host plus helpers to run installer steps on it and observe it."""

    def __init__(self, root: Path, sandbox: Path, events: Path, env: dict, pyz: Path) -> None:
        self.root = root
        self.sandbox = sandbox
        self.events = events
        self.env = dict(os.environ, **env)
        self.pyz = pyz

    def argv(self, step: str, *args: str, python: str = sys.executable) -> list:
        # -S: the installer needs no site-packages, and agents start it the same way
        return [python, "-S", str(self.pyz), step, *args]

    def run(self, step: str, *args: str, crash_at: str = None, python: str = sys.executable,
            timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if crash_at:
            env["CALICO_INSTALLER_CRASH_AT"] = crash_at
        return subprocess.run(self.argv(step, *args, python=python), cwd=self.sandbox, env=env,
                              capture_output=True, text=True, timeout=timeout)

    def popen(self, step: str, *args: str, python: str = sys.executable) -> subprocess.Popen:
        return subprocess.Popen(self.argv(step, *args, python=python), cwd=self.sandbox,
                                env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self, step: str) -> dict:
        return json.loads((self.sandbox / f"calico-installer-{step}.json").read_text())

    def restarts(self, unit: str) -> int:
        return sum(1 for event in read_events(self.events)
                   if event["unit"] == unit and event["action"] == "restart"
                   and event["phase"] == "begin")

    def wait_for_event(self, predicate, deadline_s: float = 10.0) -> dict:
        return wait_until(lambda: next((e for e in read_events(self.events) if predicate(e)),
                                       None), deadline_s, "a host event")

    def set_fault(self, name: str, value=True) -> None:
        faults.set_fault(self.root, name, value)

    def unit_state(self, unit: str) -> str:
        out = subprocess.run(["systemctl", "is-active", unit], env=self.env,
                             capture_output=True, text=True)
        return out.stdout.strip()

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True)

    def file(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def snapshot(self) -> dict:
        """Every host file and dir (mode, content hash), leaving out the simulator's state."""
        tree = {}
        for directory, dirs, files in os.walk(self.root):
            rel_dir = os.path.relpath(directory, self.root)
            dirs[:] = [d for d in dirs if os.path.join(rel_dir, d).lstrip("./") != HOST_STATE]
            for name in dirs + files:
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, self.root)
                mode = os.lstat(path).st_mode
                digest = None
                if os.path.isfile(path):
                    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                tree[rel] = (oct(mode), digest)
        return tree


@pytest.fixture
def make_host(tmp_path, pyz):
    """make_host(**HostSpec fields) -> SimHost with quick restarts and an events file."""
    count = [0]

    def make(**fields) -> SimHost:
        count[0] += 1
        base = tmp_path / f"host{count[0]}"
        root, sandbox = base / "root", base / "sandbox"
        root.mkdir(parents=True)
        sandbox.mkdir()
        events = base / "events.jsonl"
        spec = dict(agent_id=f"agent-{count[0]}", hostname=f"a{count[0]}.example",
                    ip=f"10.0.0.{count[0]}", events_file=events, docker_restart_s=RESTART_S,
                    agent_restart_s=RESTART_S)
        spec.update(fields)
        env = prepare_host(root, HostSpec(**spec))
        return SimHost(root, sandbox, events, env, pyz)

    return make


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def stop_gracefully(proc: subprocess.Popen, timeout: float = 20) -> tuple:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


# Makes ROOT read-only in a private mount namespace, except the simulator's own state dir
# (re-bound read-write through an alias), then runs the remaining arguments.
_READ_ONLY_SCRIPT = (
    'mount --bind "$1/var/lib/devcluster" "$2" && mount --bind "$1" "$1" && '
    'mount -o remount,ro,bind "$1" "$1" && mount --bind "$2" "$1/var/lib/devcluster" && '
    'shift 2 && exec "$@"'
)


def read_only_supported() -> bool:
    probe = subprocess.run(["unshare", "-m", "--", "true"], capture_output=True)
    return probe.returncode == 0


def run_read_only(host: SimHost, tmp_path: Path, step: str, *args: str):
    alias = tmp_path / "state-alias"
    alias.mkdir(exist_ok=True)
    argv = ["unshare", "-m", "--", "sh", "-c", _READ_ONLY_SCRIPT, "sh", str(host.root),
            str(alias), *host.argv(step, *args)]
    return subprocess.run(argv, cwd=host.sandbox, env=host.env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
