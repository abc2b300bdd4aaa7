"""Disruption facts read from the host action log (`--events`), strictly counted.

An agent is disrupted from the `begin` of a stop or restart of one of its disruptive units
until that unit is next seen started again (`end` with `ok` of a start or restart). A unit
that never comes back (Docker that fails to start) keeps its agent disrupted to the end of
the run, because a failed agent still holds its restart slot. An agent removed from the
cluster stops counting when it is removed.

The path a host took in a rollout is read from the same log: `restart` when a disruptive
unit of it was stopped or restarted, else `live` when its Docker reloaded its config.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DISRUPTIVE_UNITS = frozenset({"docker", "dcos-mesos-slave", "dcos-mesos-slave-public"})
RELOAD = "reload"
PATH_LIVE = "live"
PATH_RESTART = "restart"
UP_ACTIONS = frozenset({"start", "restart"})
DOWN_ACTIONS = frozenset({"stop", "restart"})


@dataclass(frozen=True)
class Window:
    agent_id: str
    unit: str
    begin: float
    end: float  # math.inf while the unit has not come back


def disruption_windows(events: Iterable[Mapping], removed_at: Mapping[str, float]
                       ) -> list[Window]:
    """Every interval during which a disruptive unit of an agent was down or restarting."""
    open_at: dict[tuple[str, str], float] = {}
    windows = []
    for event in sorted(events, key=lambda e: e["time"]):
        if event["unit"] not in DISRUPTIVE_UNITS:
            continue
        key = (event["agent_id"], event["unit"])
        if event["phase"] == "begin" and event["action"] in DOWN_ACTIONS:
            open_at.setdefault(key, event["time"])
        elif (event["phase"] == "end" and event["ok"] and event["action"] in UP_ACTIONS
              and key in open_at):
            windows.append(Window(*key, open_at.pop(key), event["time"]))
    windows += [Window(a, u, t, math.inf) for (a, u), t in open_at.items()]
    return [_clip(w, removed_at.get(w.agent_id, math.inf)) for w in windows
            if w.begin < removed_at.get(w.agent_id, math.inf)]


def _clip(window: Window, removed: float) -> Window:
    if window.end <= removed:
        return window
    return Window(window.agent_id, window.unit, window.begin, removed)


def peak_disruption(windows: Iterable[Window]) -> tuple[int, float | None, tuple[str, ...]]:
    """The most agents disrupted at one instant, when that first happened and who they were.

    Ends sort before begins at the same instant: a slot handed over at once is not overlap.
    """
    edges = []
    for w in windows:
        edges += [(w.begin, 1, w.agent_id), (w.end, -1, w.agent_id)]
    active: collections.Counter = collections.Counter()
    best, when, who = 0, None, ()
    for at, delta, agent in sorted(edges, key=lambda e: (e[0], e[1])):
        active[agent] += delta
        now = tuple(sorted(a for a, n in active.items() if n > 0))
        if len(now) > best:
            best, when, who = len(now), at, now
    return best, when, who


def restarts_between(events: Iterable[Mapping], start: float, end: float
                     ) -> collections.Counter:
    """(agent id, unit) -> disruptive stops and restarts begun in [start, end)."""
    return collections.Counter(
        (e["agent_id"], e["unit"]) for e in events
        if e["unit"] in DISRUPTIVE_UNITS and e["phase"] == "begin"
        and e["action"] in DOWN_ACTIONS and start <= e["time"] < end)


def paths_between(events: Iterable[Mapping], start: float, end: float) -> dict[str, str]:
    """Agent id -> the path it took in [start, end): `restart` (a disruptive unit stopped or
    restarted) or `live` (Docker reloaded, nothing restarted). Agents with neither are left
    out: nothing of theirs changed."""
    paths: dict[str, str] = {}
    for e in events:
        if not start <= e["time"] < end or e["unit"] not in DISRUPTIVE_UNITS:
            continue
        if e["phase"] == "begin" and e["action"] in DOWN_ACTIONS:
            paths[e["agent_id"]] = PATH_RESTART
        elif e["action"] == RELOAD and e["phase"] == "end" and e["ok"]:
            paths.setdefault(e["agent_id"], PATH_LIVE)
    return paths
