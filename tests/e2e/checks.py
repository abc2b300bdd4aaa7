"""Facts about a rollout read from the host action log (`--events`)."""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path

from devcluster.host.events import read_events
from tests.chaos.windows import DISRUPTIVE_UNITS, RELOAD


@dataclass(frozen=True)
class Window:
    agent_id: str
    unit: str
    begin: float
    end: float


def restart_windows(events_file: Path) -> list[Window]:
    """Every begin..end of a unit restart (or stop..start) on every host; a reload
    (SIGHUP) disrupts nothing and is no window."""
    if not Path(events_file).exists():
        return []
    open_at: dict[tuple[str, str], float] = {}
    windows = []
    for event in read_events(events_file):
        if event["unit"] not in DISRUPTIVE_UNITS or event["action"] == RELOAD:
            continue
        key = (event["agent_id"], event["unit"])
        if event["phase"] == "begin":
            open_at.setdefault(key, event["time"])
        elif key in open_at:
            windows.append(Window(*key, open_at.pop(key), event["time"]))
    windows += [Window(a, u, t, float("inf")) for (a, u), t in open_at.items()]
    return windows


def max_agents_disrupted_at_once(events_file: Path) -> int:
    edges = []
    for w in restart_windows(events_file):
        edges += [(w.begin, 1, w.agent_id), (w.end, -1, w.agent_id)]
    active: collections.Counter = collections.Counter()
    best = 0
    for _, delta, agent in sorted(edges, key=lambda e: (e[0], e[1])):
        active[agent] += delta
        best = max(best, sum(1 for n in active.values() if n > 0))
    return best


def restarts_per_agent(events_file: Path) -> collections.Counter:
    """(agent id, unit) -> number of restarts begun."""
    return collections.Counter((w.agent_id, w.unit) for w in restart_windows(events_file))


HOST_STATE = "var/lib/devcluster"  # the stand-ins' own state, not part of the host


def host_files(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file, link and dir of a simulated host: mode and content (link target)."""
    tree = {}
    for directory, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_dir, d)) != HOST_STATE]
        for name in dirs + files:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if os.path.islink(path):
                content = os.readlink(path).encode()
            elif os.path.isfile(path):
                content = Path(path).read_bytes()
            else:
                content = None
            tree[os.path.relpath(path, root)] = (mode, content)
    return tree
