"""The whole product on one machine: real etcd, the master emulator with simulated hosts,
stand-in release artifacts, and the real scheduler process (`python -m framework`)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devcluster.artifacts import ArtifactServer
from devcluster.cluster import ClusterOptions, LocalCluster
from devcluster.etcd import EtcdServer
from devcluster.ports import free_port

log = logging.getLogger(__name__)

SCHEDULER_STOP_GRACE_S = 10.0


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class StackOptions:
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    framework_name: str = "calico"
    max_concurrent_restarts: int = 1
    scheduler_env: tuple[tuple[str, str], ...] = ()
    operator_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))


class DevStack:
    def __init__(self, work_dir: Path, options: StackOptions | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.options = options or StackOptions()
        self.etcd = EtcdServer(self.work_dir / "etcd")
        self.cluster = LocalCluster(self.work_dir, self.options.cluster)
        self.artifacts = ArtifactServer(self.work_dir / "artifacts")
        self.scheduler_port = free_port()
        self.scheduler: subprocess.Popen | None = None
        self.scheduler_log = self.work_dir / "scheduler.log"

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.scheduler_port}/"

    def start(self) -> DevStack:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.etcd.start()
        self.cluster.start()
        self.artifacts.start()
        self.start_scheduler()
        return self

    def scheduler_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CALICO_", "MESOS_", "PORT"))}
        env.update({
            "MESOS_MASTER": self.cluster.url.removeprefix("http://"),
            "CALICO_FRAMEWORK_NAME": self.options.framework_name,
            "CALICO_FRAMEWORK_HOSTNAME": "127.0.0.1",
            "CALICO_BIND_ADDRESS": "127.0.0.1",
            "PORT0": str(self.scheduler_port),
            "CALICO_ETCD_ENDPOINTS": self.etcd.endpoint,
            "CALICO_ETCD_PROXY_BINARY_URL": self.artifacts.url("etcd"),
            "CALICO_CNI_PLUGIN_URL": self.artifacts.url("calico"),
            "CALICO_CNI_IPAM_URL": self.artifacts.url("calico-ipam"),
            "CALICO_OPERATOR_TOKEN": self.options.operator_token,
            "CALICO_MAX_CONCURRENT_RESTARTS": str(self.options.max_concurrent_restarts),
            "CALICO_RETRY_BACKOFF_BASE": "1",
            "CALICO_RETRY_BACKOFF_CAP": "10",
            "CALICO_RESTART_STABLE_SECONDS": "1",
            "CALICO_RESTART_TIMEOUT": "60",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(dict(self.options.scheduler_env))
        return env

    def start_scheduler(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        if self.scheduler is not None and self.scheduler.poll() is None:
            raise StackError("the scheduler is already running")
        env = self.scheduler_env()
        env.update(extra_env or {})
        with open(self.scheduler_log, "ab") as out:
            self.scheduler = subprocess.Popen([sys.executable, "-m", "framework"], env=env,
                                              stdout=out, stderr=subprocess.STDOUT,
                                              cwd=Path(__file__).resolve().parents[1])
        return self.scheduler

    def stop_scheduler(self, sig: int = signal.SIGTERM) -> int | None:
        proc, self.scheduler = self.scheduler, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=SCHEDULER_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def status(self) -> dict | None:
        """The scheduler's /v1/status, or None while it does not answer."""
        try:
            with urllib.request.urlopen(self.status_url + "v1/status", timeout=5) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_status(self, predicate: Callable[[dict], bool], deadline_s: float,
                    poll_s: float = 0.2) -> dict:
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            if self.scheduler is not None and self.scheduler.poll() is not None:
                raise StackError(f"the scheduler exited with {self.scheduler.returncode}; "
                                 f"see {self.scheduler_log}")
            last = self.status()
            if last is not None and predicate(last):
                return last
            time.sleep(poll_s)
        state = (last or {}).get("rollout", {}).get("state")
        raise StackError(f"timed out after {deadline_s}s (rollout state {state!r})")

    def stop(self) -> None:
        self.stop_scheduler()
        self.cluster.stop()
        self.artifacts.stop()
        self.etcd.stop()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
