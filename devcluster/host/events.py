"""The host action log: one JSON object per line, appended atomically by many processes.

Each event is written with a single write(2) on a file opened with O_APPEND, so lines from
concurrent writers (stand-ins, the master emulator) never interleave.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from devcluster.host.errors import EventError

# Units start, stop, restart and reload; workloads of other frameworks are lost
# (devcluster/workloads.py).
ACTIONS = ("start", "stop", "restart", "reload", "lost")
PHASES = ("begin", "end")
REQUIRED_KEYS = ("time", "agent_id", "hostname", "unit", "action", "phase", "ok")


def append_event(
    path: Path | str,
    *,
    agent_id: str,
    hostname: str,
    unit: str,
    action: str,
    phase: str,
    ok: bool,
    **extra: object,
) -> dict:
    """Append one event line and return it. `time` may be passed in extra (unix seconds)."""
    if action not in ACTIONS:
        raise EventError(f"event action must be one of {ACTIONS}, not {action!r}")
    if phase not in PHASES:
        raise EventError(f"event phase must be one of {PHASES}, not {phase!r}")
    if not isinstance(ok, bool):
        raise EventError(f"event ok must be a bool, not {ok!r}")
    when = extra.pop("time", None)
    event = {
        "time": time.time() if when is None else float(when),
        "agent_id": agent_id,
        "hostname": hostname,
        "unit": unit,
        "action": action,
        "phase": phase,
        "ok": ok,
        **extra,
    }
    try:
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
    except (TypeError, ValueError) as exc:
        raise EventError(f"event is not JSON-serialisable: {exc}") from exc
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
    finally:
        os.close(fd)
    if written != len(line):
        raise EventError(f"{path}: short write of an event ({written} of {len(line)} bytes)")
    return event


def read_events(path: Path | str) -> list[dict]:
    """All events in the file, oldest first; [] when it does not exist yet."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise EventError(f"{path}:{number}: not a JSON event ({exc})") from exc
        if not isinstance(event, dict) or any(key not in event for key in REQUIRED_KEYS):
            raise EventError(f"{path}:{number}: event lacks one of {REQUIRED_KEYS}")
        events.append(event)
    return events
