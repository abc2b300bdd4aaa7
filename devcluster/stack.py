"""The whole product on one machine: real etcd, the master emulator with simulated hosts,
a local mirror of the release artifacts, and the real scheduler process
(`python -m framework`) with the package's default options.

Only what an air-gapped operator would set differs from the defaults: the hosts of the
artifact URLs (and the digest of the mirror's own etcd archive), the etcd and master
addresses, and the dev cluster's short timings. As root each simulated host has its own
network namespace (devcluster/netns.py); without root the hosts share this machine's
127.0.0.1, where only one etcd proxy could listen, so the per-agent proxy is turned off
(`CALICO_ETCD_PROXY_ENABLED=false`, Docker's cluster store on the cluster etcd) and the
agents talk to etcd directly.
"""

from __future__ import annotations

import dataclasses
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

from devcluster import netns
from devcluster.cluster import ClusterOptions, LocalCluster
from devcluster.etcd import EtcdServer
from devcluster.mirror import ArtifactMirror
from devcluster.ports import free_port
from devcluster.workloads import Workloads

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
    host_netns: bool | None = None  # None: whenever this process may create namespaces
    etcd_v2: bool = True  # whether the cluster etcd serves the v2 API (--enable-v2)
    # Tasks and containers of another framework on every agent, running before the
    # scheduler starts; each one lost is an events-file line (devcluster/workloads.py).
    workloads_per_agent: int = 0


class DevStack:
    def __init__(self, work_dir: Path, options: StackOptions | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.options = options or StackOptions()
        isolate = self.options.host_netns
        self.isolated = netns.available() if isolate is None else isolate
        self.cluster = LocalCluster(self.work_dir, dataclasses.replace(
            self.options.cluster, host_netns=self.isolated))
        address = self.cluster.address
        try:
            self.etcd = EtcdServer(self.work_dir / "etcd", host=address,
                                   enable_v2=self.options.etcd_v2)
            self.artifacts = ArtifactMirror(self.work_dir / "artifacts", host=address)
            self.scheduler_port = free_port(address)
        except BaseException:
            self.cluster.stop()
            raise
        _bypass_proxies(address)
        self.scheduler: subprocess.Popen | None = None
        self.workloads: Workloads | None = None
        self.scheduler_log = self.work_dir / "scheduler.log"

    @property
    def address(self) -> str:
        """Where etcd, the master, the mirror and the scheduler listen."""
        return self.cluster.address

    @property
    def status_url(self) -> str:
        return f"http://{self.address}:{self.scheduler_port}/"

    def start(self) -> DevStack:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.etcd.start()
        self.cluster.start()
        self.artifacts.start()
        if self.options.workloads_per_agent:
            self.workloads = Workloads(self.cluster, self.options.workloads_per_agent)
            self.workloads.start()
        self.start_scheduler()
        return self

    def scheduler_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CALICO_", "MESOS_", "PORT"))}
        env.update({
            "MESOS_MASTER": self.cluster.url.removeprefix("http://"),
            "CALICO_FRAMEWORK_NAME": self.options.framework_name,
            "CALICO_FRAMEWORK_HOSTNAME": self.address,
            "CALICO_BIND_ADDRESS": self.address,
            "PORT0": str(self.scheduler_port),
            "CALICO_ETCD_ENDPOINTS": self.etcd.endpoint,
            **self.artifacts.scheduler_env(),
            "CALICO_OPERATOR_TOKEN": self.options.operator_token,
            "CALICO_MAX_CONCURRENT_RESTARTS": str(self.options.max_concurrent_restarts),
            "CALICO_RETRY_BACKOFF_BASE": "1",
            "CALICO_RETRY_BACKOFF_CAP": "10",
            "CALICO_RESTART_STABLE_SECONDS": "1",
            "CALICO_RESTART_TIMEOUT": "60",
            "PYTHONUNBUFFERED": "1",
        })
        if not self.isolated:
            # Without their own namespaces hosts cannot each listen on 127.0.0.1:2379, nor
            # (without root) on BIRD's port 179, which the verify step reaches.
            env.update({"CALICO_ETCD_PROXY_ENABLED": "false", "CALICO_VERIFY_ENABLED": "false",
                        "CALICO_DOCKER_CLUSTER_STORE":
                            f"etcd://{self.etcd.endpoint.removeprefix('http://')}"})
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
        workloads, self.workloads = self.workloads, None
        if workloads is not None:
            workloads.stop()
        self.cluster.stop()
        self.artifacts.stop()
        self.etcd.stop()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bypass_proxies(address: str) -> None:
    """Keep an HTTP proxy from the environment (meant for downloads) off the cluster's own
    address, for this process and the processes it starts."""
    if not any(os.environ.get(name) for name in ("http_proxy", "HTTP_PROXY")):
        return
    for name in ("no_proxy", "NO_PROXY"):
        entries = [e for e in os.environ.get(name, "").split(",") if e]
        if address not in entries:
            os.environ[name] = ",".join([*entries, address])
