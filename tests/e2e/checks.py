"""Facts about a rollout read from the host action log (`--events`)."""

from __future__ import annotations

import collections
import os
from pathlib import Path

from devcluster.host.events import read_events
from tests.chaos.windows import Window, disruption_windows, peak_disruption


def restart_windows(events_file: Path) -> list[Window]:
    """Every stop or restart of a disruptive unit on every host, until it is started again
    (tests/chaos/windows.py); a reload (SIGHUP) disrupts nothing and is no window."""
    if not Path(events_file).exists():
        return []
    return disruption_windows(read_events(events_file), {})


def max_agents_disrupted_at_once(events_file: Path) -> int:
    return peak_disruption(restart_windows(events_file))[0]


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
