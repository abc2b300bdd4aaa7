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


HEALTH_CHECK_NUMBERS = ("delay_seconds", "interval_seconds", "timeout_seconds",
                        "grace_period_seconds")


def command_problem(command: object) -> str | None:
    """Why a CommandInfo would not parse or validate in the master, or None."""
    if not isinstance(command, dict):
        return "'command' must be an object"
    if command.get("shell", True) is not False and not isinstance(command.get("value"), str):
        return "CommandInfo with 'shell' needs a string 'value'"
    if command.get("shell", True) is False and not isinstance(command.get("value"), str):
        return "CommandInfo without 'shell' needs the executable in 'value'"
    arguments = command.get("arguments", [])
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        return "'command.arguments' must be a list of strings"
    if not isinstance(command.get("uris", []), list):
        return "'command.uris' must be a list"
    variables = (command.get("environment") or {}).get("variables", []) \
        if isinstance(command.get("environment", {}), dict) else None
    if not isinstance(variables, list) or not all(
            isinstance(v, dict) and isinstance(v.get("name"), str) for v in variables):
        return "'command.environment.variables' must be a list of named variables"
    return None


def health_check_problem(check: object) -> str | None:
    """Why a HealthCheck would fail the master's validation, or None."""
    if not isinstance(check, dict):
        return "'health_check' must be an object"
    kind = check.get("type")
    for name in HEALTH_CHECK_NUMBERS:
        value = check.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return f"Expecting '{name}' to be non-negative"
    failures = check.get("consecutive_failures", 3)
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
        return "Expecting 'consecutive_failures' to be a non-negative integer"
    if kind == "COMMAND":
        if not isinstance(check.get("command"), dict) or \
                not isinstance(check["command"].get("value"), str):
            return "Expecting 'command' to be set for COMMAND health check"
    elif kind in ("HTTP", "TCP"):
        body = check.get(kind.lower())
        port = body.get("port") if isinstance(body, dict) else None
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            return f"Expecting '{kind.lower()}.port' to be set for {kind} health check"
    else:
        return f"Unsupported health check type {kind!r}"
    return None


# The parts of scheduler::Call the emulator reads, as JSON types. A value of the wrong
# type fails protobuf parsing in a real master, which answers 400 before acting on it.
Number = (int, float)
_ID = {"value": str}
_RESOURCE = {"name": str, "type": str, "role": str, "scalar": {"value": Number},
             "ranges": {"range": [{"begin": int, "end": int}]},
             "reservations": [{"type": str, "role": str}], "allocation_info": {"role": str}}
_FILTERS = {"refuse_seconds": Number}
_TASK_INFO = {"name": str, "task_id": _ID, "agent_id": _ID, "resources": [_RESOURCE],
              "command": dict, "health_check": dict, "executor": dict,
              "kill_policy": {"grace_period": {"nanoseconds": int}}}
_FRAMEWORK_INFO = {"user": str, "name": str, "id": _ID, "failover_timeout": Number,
                   "checkpoint": bool, "role": str, "roles": [str], "hostname": str,
                   "principal": str, "webui_url": str, "capabilities": [{"type": str}]}
CALL_SCHEMA = {
    "type": str,
    "framework_id": _ID,
    "subscribe": {"framework_info": _FRAMEWORK_INFO, "suppressed_roles": [str]},
    "update_framework": {"framework_info": _FRAMEWORK_INFO, "suppressed_roles": [str]},
    "accept": {"offer_ids": [_ID], "filters": _FILTERS, "operations": [
        {"type": str, "launch": {"task_infos": [_TASK_INFO]}}]},
    "decline": {"offer_ids": [_ID], "filters": _FILTERS},
    "revive": {"roles": [str]},
    "suppress": {"roles": [str]},
    "kill": {"task_id": _ID, "agent_id": _ID,
             "kill_policy": {"grace_period": {"nanoseconds": int}}},
    "acknowledge": {"agent_id": _ID, "task_id": _ID, "uuid": str},
    "reconcile": {"tasks": [{"task_id": _ID, "agent_id": _ID}]},
    "message": {"agent_id": _ID, "executor_id": _ID, "data": str},
}


def call_problem(call: object) -> str | None:
    """Why this JSON would not convert into a scheduler::Call, or None."""
    return _shape_problem(call, CALL_SCHEMA, "call")


def _shape_problem(value: object, shape: object, where: str) -> str | None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"'{where}' must be an object"
        for key, sub in shape.items():
            if key in value:
                problem = _shape_problem(value[key], sub, f"{where}.{key}")
                if problem:
                    return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"'{where}' must be an array"
        for index, item in enumerate(value):
            problem = _shape_problem(item, shape[0], f"{where}[{index}]")
            if problem:
                return problem
        return None
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, bool) and bool not in kinds:
        return f"'{where}' has the wrong type"
    if not isinstance(value, kinds):
        return f"'{where}' has the wrong type"
    return None


MAX_ID_LENGTH = 255  # IDs name sandbox directories


def id_problem(value: object) -> str | None:
    """Why a Mesos ID (framework, task) is invalid, or None: as common::validation says,
    no path separators, whitespace or control characters, not '.' or '..'."""
    if not isinstance(value, str) or not value:
        return "ID must not be empty"
    if value in (".", ".."):
        return "'.' and '..' are disallowed for ID"
    if len(value.encode()) > MAX_ID_LENGTH:
        return f"ID must be at most {MAX_ID_LENGTH} bytes"
    if any(c in "/\\" or c.isspace() or not c.isprintable() for c in value):
        return "ID contains invalid characters"
    return None


def role_problem(role: object) -> str | None:
    """Why a role name is invalid, or None (roles.cpp: no '.', '..', leading '-',
    whitespace, slashes at the ends or empty path components)."""
    if not isinstance(role, str) or not role:
        return "Empty role name is invalid"
    if role == "*":
        return None
    if role in (".", "..") or role.startswith("-") or any(c.isspace() for c in role):
        return f"Role '{role}' is invalid"
    if role.startswith("/") or role.endswith("/") or "//" in role or any(
            part in (".", "..") for part in role.split("/")):
        return f"Role '{role}' is invalid"
    return None


def framework_info_problem(info: dict) -> str | None:
    """Why the master would refuse this FrameworkInfo at SUBSCRIBE, or None."""
    capabilities = {c.get("type") for c in info.get("capabilities", [])}
    if "MULTI_ROLE" in capabilities and "role" in info:
        return "'FrameworkInfo.role' must not be set when MULTI_ROLE is"
    if "MULTI_ROLE" not in capabilities and "roles" in info:
        return "'FrameworkInfo.roles' must not be set without MULTI_ROLE"
    roles = info.get("roles", []) if "MULTI_ROLE" in capabilities else [info.get("role", "*")]
    if len(set(roles)) != len(roles):
        return "'FrameworkInfo.roles' contains duplicate items"
    return next((p for p in map(role_problem, roles) if p), None)
