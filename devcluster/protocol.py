"""Mesos v1 JSON shapes the emulator speaks: RecordIO framing, resources, ids, statuses.

Field names follow include/mesos/v1/mesos.proto and scheduler/scheduler.proto.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field

from devcluster.errors import ResourceError

TERMINAL_STATES = frozenset({
    "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
    "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
})
SCALAR_NAMES = ("cpus", "mem", "disk", "gpus")


def recordio(event: dict) -> bytes:
    """One RecordIO record: the decimal length, a newline, then the JSON bytes."""
    data = json.dumps(event, separators=(",", ":")).encode()
    return str(len(data)).encode() + b"\n" + data


_DURATION_UNITS = (("weeks", 604800.0), ("days", 86400.0), ("hrs", 3600.0),
                   ("mins", 60.0), ("secs", 1.0), ("ms", 1e-3), ("us", 1e-6))


def duration_text(seconds: float) -> str:
    """A Duration as Mesos prints it (stout duration.hpp `operator<<`): in the largest
    unit that is at least 1 — 2mins, 10secs, 500ms."""
    for unit, size in _DURATION_UNITS:
        if seconds >= size:
            return f"{round(seconds / size, 9):g}{unit}"
    return f"{round(seconds * 1e9):g}ns"


def new_uuid_b64() -> str:
    """A status update uuid as the v1 JSON API carries `bytes`: base64."""
    return base64.b64encode(uuid.uuid4().bytes).decode()


@dataclass
class Resources:
    """Scalar resources plus port ranges, all of one role."""

    scalars: dict[str, float] = field(default_factory=dict)
    ports: list[tuple[int, int]] = field(default_factory=list)

    def copy(self) -> Resources:
        return Resources(dict(self.scalars), list(self.ports))

    def is_empty(self) -> bool:
        return all(v <= 1e-9 for v in self.scalars.values()) and not self.ports

    def contains(self, other: Resources) -> bool:
        if any(self.scalars.get(k, 0.0) + 1e-9 < v for k, v in other.scalars.items()):
            return False
        return all(_range_covered(r, self.ports) for r in other.ports)

    def add(self, other: Resources) -> None:
        for k, v in other.scalars.items():
            self.scalars[k] = round(self.scalars.get(k, 0.0) + v, 6)
        self.ports = _merge_ranges(self.ports + other.ports)

    def subtract(self, other: Resources) -> None:
        for k, v in other.scalars.items():
            self.scalars[k] = round(max(self.scalars.get(k, 0.0) - v, 0.0), 6)
        for begin, end in other.ports:
            self.ports = _remove_range(self.ports, begin, end)

    def to_v1(self, role: str, allocation_role: str | None = None) -> list[dict]:
        out = []
        for name, value in self.scalars.items():
            if value > 1e-9:
                out.append(_resource(name, role, allocation_role, type="SCALAR",
                                     scalar={"value": value}))
        if self.ports:
            ranges = [{"begin": b, "end": e} for b, e in self.ports]
            out.append(_resource("ports", role, allocation_role, type="RANGES",
                                 ranges={"range": ranges}))
        return out

    def to_summary(self) -> dict:
        """The flat shape of /master/state: {"cpus": 1.0, ..., "ports": "[1-2, 5-9]"}."""
        out = {name: float(self.scalars.get(name, 0.0)) for name in SCALAR_NAMES}
        if self.ports:
            out["ports"] = "[" + ", ".join(f"{b}-{e}" for b, e in self.ports) + "]"
        return out


def _resource(name, role, allocation_role, **body) -> dict:
    res = {"name": name, "role": role, **body}
    if role != "*":
        res["reservations"] = [{"type": "STATIC", "role": role}]
    if allocation_role is not None:
        res["allocation_info"] = {"role": allocation_role}
    return res


def resources_from_v1(items: list, default_role: str | None = None) -> dict[str, Resources]:
    """Group v1 resource objects by the role they are reserved for."""
    if not isinstance(items, list):
        raise ResourceError("'resources' must be a list")
    by_role: dict[str, Resources] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ResourceError("each resource needs a 'name'")
        role = _reserved_role(item) or default_role or "*"
        res = by_role.setdefault(role, Resources())
        kind = item.get("type", "SCALAR")
        if kind == "SCALAR":
            value = item.get("scalar", {}).get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ResourceError(f"resource '{item['name']}' needs a non-negative scalar value")
            res.scalars[item["name"]] = round(res.scalars.get(item["name"], 0.0) + value, 6)
        elif kind == "RANGES" and item["name"] == "ports":
            for r in item.get("ranges", {}).get("range", []):
                begin, end = r.get("begin"), r.get("end")
                if not isinstance(begin, int) or not isinstance(end, int) or begin > end:
                    raise ResourceError("invalid port range")
                res.ports = _merge_ranges(res.ports + [(begin, end)])
        else:
            raise ResourceError(f"unsupported resource type {kind} for '{item['name']}'")
    return by_role


def allocation_roles(items: list) -> set[str | None]:
    """The roles v1 resource objects are allocated to (`allocation_info.role`)."""
    return {(item.get("allocation_info") or {}).get("role") for item in items
            if isinstance(item, dict)}


def _reserved_role(item: dict) -> str | None:
    reservations = item.get("reservations") or []
    if reservations:
        return reservations[-1].get("role")
    role = item.get("role")
    return role if role and role != "*" else None


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(ranges):
        if merged and begin <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _remove_range(ranges: list[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int]]:
    out = []
    for b, e in ranges:
        if e < begin or b > end:
            out.append((b, e))
            continue
        if b < begin:
            out.append((b, begin - 1))
        if e > end:
            out.append((end + 1, e))
    return out


def _range_covered(r: tuple[int, int], ranges: list[tuple[int, int]]) -> bool:
    return any(b <= r[0] and r[1] <= e for b, e in ranges)
