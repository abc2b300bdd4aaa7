"""Simulated Docker containers: docker-inspect-shaped records in one JSON file per host.

A container "runs" while its record says so; nothing executes. It stops when stopped,
killed, removed, when an injected `container_exit` fault fires, or when the daemon stops
(restart policies `always` and `unless-stopped` bring it back when the daemon starts again;
`always` also brings back containers stopped by hand, as real Docker does).
Exit codes of auto-removed containers are kept briefly so a foreground `docker run` can
still report them. Callers hold the host lock.

Read from moby at v1.13.1, v17.06.2-ce and v18.09.9 (the Docker of DC/OS 1.10-1.13 agents):
- `daemon/daemon.go` `Daemon.Shutdown`: with live-restore and containers running, the
  daemon stops without stopping them; otherwise every container is stopped.
- `daemon/daemon.go` `Daemon.restore` and `container/container.go` `ShouldRestart`, through
  `restartmanager/restartmanager.go` `ShouldRestart`: at daemon start a container comes back
  under `always` (even one stopped by hand) and under `unless-stopped` unless stopped by hand.
The daemon side (what a SIGHUP reloads, when a restart is needed) is in reload.py.
"""

from __future__ import annotations

import datetime
import os

from devcluster.host import faults, store
from devcluster.host.hostdir import HostDir

STOP_EXIT_CODE = 0
KILL_EXIT_CODE = 137
NEVER = "0001-01-01T00:00:00Z"
RESTARTED_BY_DAEMON = ("always", "unless-stopped")
KEEP_EXIT_CODES = 64
PRIVATE = "_devcluster"


def timestamp(unix_time: float) -> str:
    moment = datetime.datetime.fromtimestamp(unix_time, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def load(host: HostDir) -> dict:
    state = store.read_json(host.containers_path, None)
    if not isinstance(state, dict):
        state = {"containers": {}, "exit_codes": {}}
    return state


def save(host: HostDir, state: dict) -> None:
    codes = state["exit_codes"]
    for stale in list(codes)[:-KEEP_EXIT_CODES]:
        del codes[stale]
    store.write_json(host.containers_path, state)


def public_view(record: dict) -> dict:
    """The record as `docker inspect` shows it."""
    return {key: value for key, value in record.items() if key != PRIVATE}


def name_of(record: dict) -> str:
    return record["Name"].lstrip("/")


def started(record: dict) -> float:
    return record[PRIVATE]["started"]


def finished(record: dict) -> float | None:
    return record[PRIVATE]["finished"]


def find(state: dict, ref: str) -> str | None:
    """Container id for a full id, a name (with or without '/'), or a unique id prefix."""
    records = state["containers"]
    if ref in records:
        return ref
    for cid, record in records.items():
        if name_of(record) == ref.lstrip("/"):
            return cid
    matches = [cid for cid in records if ref and cid.startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def new_id() -> str:
    return os.urandom(32).hex()


def create(state: dict, *, name: str, image: str, args: list[str], env: list[str],
           binds: list[str], network: str, restart: str, max_retries: int, auto_remove: bool,
           privileged: bool, hostname: str, pid: int, now: float) -> dict:
    """Add a running container to state and return its record."""
    cid = new_id()
    record = {
        "Id": cid,
        "Created": timestamp(now),
        "Path": args[0] if args else "",
        "Args": args[1:],
        "Name": "/" + name,
        "Image": "sha256:" + os.urandom(32).hex(),
        "State": {
            "Status": "running", "Running": True, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": pid, "ExitCode": 0, "Error": "",
            "StartedAt": timestamp(now), "FinishedAt": NEVER,
        },
        "HostConfig": {
            "Binds": binds, "NetworkMode": network, "Privileged": privileged,
            "AutoRemove": auto_remove,
            "RestartPolicy": {"Name": restart, "MaximumRetryCount": max_retries},
        },
        "Config": {
            "Hostname": hostname, "Env": env, "Cmd": args or None, "Image": image,
            "Entrypoint": None, "Labels": {},
        },
        PRIVATE: {"restart_with_daemon": False, "started": now, "finished": None},
    }
    state["containers"][cid] = record
    return record


def stop(state: dict, cid: str, exit_code: int, now: float) -> None:
    """Mark a running container exited with exit_code; auto-removed ones disappear."""
    record = state["containers"][cid]
    if record["State"]["Running"]:
        record["State"].update(Status="exited", Running=False, Pid=0, ExitCode=exit_code,
                               FinishedAt=timestamp(now))
        record[PRIVATE]["finished"] = now
    if record["HostConfig"]["AutoRemove"]:
        remove(state, cid)


def remove(state: dict, cid: str) -> None:
    record = state["containers"].pop(cid)
    state["exit_codes"][cid] = record["State"]["ExitCode"]


def kill_and_remove(state: dict, cid: str, now: float) -> None:
    stop(state, cid, KILL_EXIT_CODE, now)
    if cid in state["containers"]:
        remove(state, cid)


def apply_exit_faults(host: HostDir, state: dict, now: float) -> bool:
    """Let injected `container_exit` faults end their running containers; True if any did."""
    wanted = faults.get_faults(host.root).get("container_exit") or {}
    fired = False
    for cid, record in list(state["containers"].items()):
        if record["State"]["Running"] and name_of(record) in wanted:
            code = faults.consume_container_exit(host, name_of(record))
            if code is not None:
                stop(state, cid, code, now)
                fired = True
    return fired


def daemon_stopped(host: HostDir, now: float, exit_code: int, live_restore: bool) -> None:
    """The daemon went down: every running container stops (unless the daemon ran with
    live-restore: then they all keep running, see dockerd.live_restore); remember who comes
    back."""
    if live_restore:
        return
    state = load(host)
    for cid, record in list(state["containers"].items()):
        policy = record["HostConfig"]["RestartPolicy"]["Name"]
        if record["State"]["Running"]:
            record[PRIVATE]["restart_with_daemon"] = policy in RESTARTED_BY_DAEMON
            stop(state, cid, exit_code, now)
        elif policy == "always":
            record[PRIVATE]["restart_with_daemon"] = True
    save(host, state)


def daemon_started(host: HostDir, now: float) -> None:
    """The daemon came up: containers whose restart policy says so run again."""
    state = load(host)
    for record in state["containers"].values():
        if record[PRIVATE]["restart_with_daemon"]:
            record[PRIVATE].update(restart_with_daemon=False, started=now, finished=None)
            record["State"].update(Status="running", Running=True, ExitCode=0,
                                   StartedAt=timestamp(now), FinishedAt=NEVER)
    save(host, state)
