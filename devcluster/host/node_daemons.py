"""The long-running part of a calico/node v2.6 container once its startup has succeeded:
BIRD accepting BGP connections on TCP port 179, and (with CALICO_LIBNETWORK_ENABLED=true)
the libnetwork plugin's sockets Docker discovers its `calico` and `calico-ipam` drivers by.

From projectcalico/calico v2.6.12 `calico_node/filesystem/etc/rc.local`: `startup || exit 1`
runs first; only then are the runit services enabled: bird (BGP, listening on port 179 on
every address of the host: the container runs with --net=host) and, when
CALICO_LIBNETWORK_ENABLED is true, libnetwork (projectcalico/libnetwork-plugin v1.1.3
`main.go`: go-plugins-helpers `ServeUnix("calico")` and `ServeUnix("calico-ipam")`, i.e.
/run/docker/plugins/calico.sock and /run/docker/plugins/calico-ipam.sock).

Containers are records in a state file (containers.py), so one process per running calico/node
container stands for these services: the `docker run` stand-in starts it, detached, from the
host's network namespace, after the image's startup succeeded. It accepts and closes each
connection on port 179 (BIRD drops a connection from an address that is not one of its BGP
peers) and keeps the two socket files (plain files: Docker's legacy plugin discovery is modelled
as their existence, see docker_cli.py) while it runs. Every POLL_S it looks at the container's
record, settling the docker unit as every stand-in does, and ends, removing the socket files,
when the container no longer runs: stopped, killed, removed, exited (an injected fault), or
stopped with its daemon (a daemon stop without live-restore, a crash); also when the process
the record names as the container's (a foreground `docker run`) is gone, when the host's
directory is gone, or when the host's network namespace is (its dev cluster stopped).

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
    """Start the services of container cid (the caller is in the host's namespace)."""
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
    if record is None or not record["State"]["Running"]:
        return False
    pid = record["State"]["Pid"]
    return not pid or _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _listen(host: HostDir) -> socket.socket | None:
    address = "0.0.0.0" if host.spec.get("netns") else host.spec["ip"]
    try:
        server = socket.create_server((address, BGP_PORT), reuse_port=False)
    except OSError as err:
        print(f"bird: cannot listen on {address}:{BGP_PORT}: {err}", flush=True)
        return None
    server.settimeout(POLL_S)
    return server


def main(argv: list[str]) -> int:
    root, cid = argv
    host = HostDir(root)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))
    try:
        record = containers.load(host)["containers"].get(cid)
        env = dict(item.split("=", 1) for item in (record or {}).get("Config", {}).get("Env", [])
                   if "=" in item)
        sockets = [plugin_socket(root, name) for name in PLUGIN_NAMES] \
            if libnetwork_enabled(env) else []
        for path in sockets:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{os.getpid()}\n")
        server = _listen(host)
        try:
            while not stopping and _still_running(host, cid):
                if server is None:
                    time.sleep(POLL_S)
                    continue
                with contextlib.suppress(TimeoutError, OSError):
                    conn, _ = server.accept()
                    conn.close()
        finally:
            if server is not None:
                server.close()
            for path in sockets:
                with contextlib.suppress(FileNotFoundError):
                    if path.read_text().strip() == str(os.getpid()):
                        path.unlink()
    except (HostError, OSError, ValueError) as err:
        print(f"calico/node services of {cid[:12]}: {err}", flush=True)
        return 1
    return 0
