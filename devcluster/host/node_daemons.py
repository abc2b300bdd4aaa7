"""The long-running part of a calico/node v2.6 container once its startup has succeeded:
BIRD accepting BGP connections on TCP port 179, and (with CALICO_LIBNETWORK_ENABLED=true)
the libnetwork plugin's sockets Docker discovers its `calico` and `calico-ipam` drivers by.

From projectcalico/calico v2.6.12 `calico_node/filesystem/etc/rc.local`: `startup || exit 1`
runs first; only then are the runit services enabled: bird (BGP, listening on port 179 on
every address of the host: the container runs with --net=host) and, when
CALICO_LIBNETWORK_ENABLED is true, libnetwork (projectcalico/libnetwork-plugin v1.1.3
`main.go`: go-plugins-helpers `ServeUnix("calico")` and `ServeUnix("calico-ipam")`, i.e.
/run/docker/plugins/calico.sock and /run/docker/plugins/calico-ipam.sock).

Containers are records in a state file (containers.py), so a process stands for these
services (`Services`), opened from the host's network namespace once the image's startup
succeeded: a foreground `docker run`, which already is the container's process and follows its
record until it stops, serves them itself; for a detached one (`-d`) the stand-in starts a
process of its own (`spawn`). Either accepts and closes each connection on port 179 (BIRD drops
a connection from an address that is not one of its BGP peers) and keeps the two socket files
(plain files: Docker's legacy plugin discovery is modelled as their existence, see
docker_network.py) while it runs. The detached one looks at the container's record every
POLL_S, settling the docker unit as every stand-in does, and ends, removing the socket files,
when the container no longer runs: stopped, killed, removed, exited (an injected fault), or
stopped with its daemon (a daemon stop without live-restore, a crash); also when the host's
directory is gone, or when the host's network namespace is (its dev cluster stopped). The
foreground one ends with the `docker run` that serves it, which exits on the same events.

Port 179 is privileged: on a dev cluster whose hosts share this machine's network, a process
without root cannot bind it, so BGP connections to the host are refused, as they would be to a
node whose BIRD is not running (the failure is written to the log file below). As root on a
shared network it binds the host's own address only, so hosts do not collide.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from devcluster import netns
from devcluster.host import containers, units
from devcluster.host.errors import HostError
from devcluster.host.hostdir import DOCKER_UNIT, HostDir

BGP_PORT = 179
POLL_S = 0.25
PLUGIN_DIR = "run/docker/plugins"
PLUGIN_NAMES = ("calico", "calico-ipam")
LOG_FILE = "var/log/calico/devcluster-node-daemons.log"


def plugin_socket(root: Path | str, name: str) -> Path:
    return Path(root) / PLUGIN_DIR / f"{name}.sock"


def libnetwork_enabled(env: dict[str, str]) -> bool:
    """rc.local: the libnetwork service is enabled when CALICO_LIBNETWORK_ENABLED is true."""
    return env.get("CALICO_LIBNETWORK_ENABLED", "").lower() == "true"


def spawn(host: HostDir, cid: str) -> subprocess.Popen:
    """Start the services of a detached container cid in their own process (the caller is
    in the host's namespace)."""
    log = host.root / LOG_FILE
    log.parent.mkdir(parents=True, exist_ok=True)
    project = str(Path(__file__).resolve().parents[2])
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-S", "-c",
             f"import sys; sys.path.insert(0, {project!r}); "
             "from devcluster.host.node_daemons import main; sys.exit(main(sys.argv[1:]))",
             str(host.root), cid],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            close_fds=True)


def _still_running(host: HostDir, cid: str) -> bool:
    if not host.root.is_dir():
        return False
    namespace = host.spec.get("netns")
    if namespace and not (netns.NETNS_DIR / namespace).exists():
        return False
    with host.locked():
        now = time.time()
        units.settle(host, DOCKER_UNIT, now)  # applies a due stop or crash to the records
        state = containers.load(host)
        if containers.apply_exit_faults(host, state, now):
            containers.save(host, state)
    record = state["containers"].get(cid)
    return record is not None and record["State"]["Running"]


class Services:
    """BIRD's listening socket and the libnetwork plugin's socket files of container cid.
    Open them from the host's network namespace."""

    def __init__(self, host: HostDir, cid: str, env: dict[str, str]) -> None:
        self.host = host
        self.sockets = [plugin_socket(host.root, name) for name in PLUGIN_NAMES] \
            if libnetwork_enabled(env) else []
        for path in self.sockets:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{os.getpid()}\n")
        self.server = self._listen()

    def _listen(self) -> socket.socket | None:
        address = "0.0.0.0" if self.host.spec.get("netns") else self.host.spec["ip"]
        try:
            server = socket.create_server((address, BGP_PORT))
        except OSError as err:
            log_line(self.host, f"bird: cannot listen on {address}:{BGP_PORT}: {err}")
            return None
        return server

    def serve(self, seconds: float) -> None:
        """Accept (and drop) BGP connections for up to `seconds`."""
        if self.server is None:
            time.sleep(seconds)
            return
        self.server.settimeout(seconds)
        with contextlib.suppress(TimeoutError, OSError):
            conn, _ = self.server.accept()
            conn.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for path in self.sockets:
            with contextlib.suppress(FileNotFoundError):
                if path.read_text().strip() == str(os.getpid()):
                    path.unlink()
        self.sockets = []


def log_line(host: HostDir, line: str) -> None:
    path = host.root / LOG_FILE
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as out:
            out.write(line + "\n")


def main(argv: list[str]) -> int:
    root, cid = argv
    host = HostDir(root)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))
    try:
        record = containers.load(host)["containers"].get(cid) or {}
        env = dict(item.split("=", 1) for item in record.get("Config", {}).get("Env", [])
                   if "=" in item)
        services = Services(host, cid, env)
        try:
            while not stopping and _still_running(host, cid):
                services.serve(POLL_S)
        finally:
            services.close()
    except (HostError, OSError, ValueError) as err:
        log_line(host, f"calico/node services of {cid[:12]}: {err}")
        return 1
    return 0
