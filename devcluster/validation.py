"""What the master refuses, as Mesos validates it: Call shapes, IDs, roles, FrameworkInfo,
TaskInfo (CommandInfo, HealthCheck, resources against the offer).

Each `*_problem` function returns a sentence or None; `validate_task` raises TaskInvalid.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from devcluster.errors import ResourceError, TaskInvalid
from devcluster.protocol import Resources, allocation_roles, resources_from_v1
from devcluster.versions import MesosVersion

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


# The parts of scheduler::Call the emulator reads, as JSON types (include/mesos/v1/
# scheduler/scheduler.proto and mesos.proto at 1.4.3 and 1.8.x). `Req` marks a required
# field, `Enum` an enum field (None: the version's call types).
@dataclass(frozen=True)
class Req:
    shape: object


@dataclass(frozen=True)
class Enum:
    names: frozenset[str] | None
    required: bool = False


Number = (int, float)
Bytes = "bytes"  # a base64 string (stout protobuf::parse TYPE_BYTES)
_ID = {"value": Req(str)}
_RESOURCE = {"name": Req(str), "type": Enum(frozenset({"SCALAR", "RANGES", "SET", "TEXT"}),
                                            required=True),
             "role": str, "scalar": {"value": Req(Number)},
             "ranges": {"range": [{"begin": Req(int), "end": Req(int)}]},
             "reservations": [{"type": str, "role": str}], "allocation_info": {"role": str}}
_FILTERS = {"refuse_seconds": Number}
_TASK_INFO = {"name": Req(str), "task_id": Req(_ID), "agent_id": Req(_ID),
              "resources": [_RESOURCE], "command": dict, "health_check": dict,
              "executor": dict, "kill_policy": {"grace_period": {"nanoseconds": Req(int)}}}
_FRAMEWORK_INFO = {"user": Req(str), "name": Req(str), "id": _ID, "failover_timeout": Number,
                   "checkpoint": bool, "role": str, "roles": [str], "hostname": str,
                   "principal": str, "webui_url": str, "capabilities": [{"type": str}]}
_OPERATION_TYPES = frozenset({"UNKNOWN", "LAUNCH", "LAUNCH_GROUP", "RESERVE", "UNRESERVE",
                              "CREATE", "DESTROY"})
CALL_SCHEMA = {
    "type": Enum(None),
    "framework_id": _ID,
    "subscribe": {"framework_info": Req(_FRAMEWORK_INFO), "suppressed_roles": [str]},
    "accept": {"offer_ids": [_ID], "filters": _FILTERS, "operations": [
        {"type": Enum(_OPERATION_TYPES), "launch": {"task_infos": [_TASK_INFO]}}]},
    "decline": {"offer_ids": [_ID], "filters": _FILTERS},
    "revive": {"roles": [str]},
    "suppress": {"roles": [str]},
    "kill": {"task_id": Req(_ID), "agent_id": _ID,
             "kill_policy": {"grace_period": {"nanoseconds": Req(int)}}},
    "shutdown": {"executor_id": Req(_ID), "agent_id": Req(_ID)},
    "acknowledge": {"agent_id": Req(_ID), "task_id": Req(_ID), "uuid": Req(Bytes)},
    "reconcile": {"tasks": [{"task_id": Req(_ID), "agent_id": _ID}]},
    "message": {"agent_id": Req(_ID), "executor_id": Req(_ID), "data": Req(Bytes)},
}
# scheduler.proto `Call` body fields by type, which `validation::scheduler::call::validate`
# expects to be present.
CALL_BODIES = {
    "SUBSCRIBE": "subscribe", "ACCEPT": "accept", "DECLINE": "decline",
    "ACCEPT_INVERSE_OFFERS": "accept_inverse_offers",
    "DECLINE_INVERSE_OFFERS": "decline_inverse_offers", "KILL": "kill",
    "SHUTDOWN": "shutdown", "ACKNOWLEDGE": "acknowledge",
    "ACKNOWLEDGE_OPERATION_STATUS": "acknowledge_operation_status",
    "RECONCILE": "reconcile", "RECONCILE_OPERATIONS": "reconcile_operations",
    "MESSAGE": "message", "REQUEST": "request",
}


def call_problem(call: object, mesos: MesosVersion) -> str | None:
    """Why this JSON would not convert into a scheduler::Call (stout `protobuf::parse`:
    a wrong type, an unknown enum name, then every missing required field), or None.
    An unknown name in an optional enum field is dropped from `call` when the version
    does so (devcluster.versions `drops_unknown_enums`)."""
    missing: list[str] = []
    problem = _convert(call, CALL_SCHEMA, "", mesos, missing)
    if problem is None and missing:
        problem = "Missing required fields: " + ", ".join(missing)
    return problem


def validate_call(call: dict) -> str | None:
    """`validation::scheduler::call::validate` (master/validation.cpp), or None."""
    kind = call.get("type")
    if kind is None:
        return "Expecting 'type' to be present"
    if kind == "SUBSCRIBE":
        if "subscribe" not in call:
            return "Expecting 'subscribe' to be present"
        if call["subscribe"]["framework_info"].get("id") != call.get("framework_id"):
            return "'framework_id' differs from 'subscribe.framework_info.id'"
        return None
    if "framework_id" not in call:
        return "Expecting 'framework_id' to be present"
    body = CALL_BODIES.get(kind)
    if body is not None and body not in call:
        return f"Expecting '{body}' to be present"
    if kind == "ACKNOWLEDGE" and not _valid_uuid(call["acknowledge"]["uuid"]):
        return "Not a valid UUID"
    return None


def _valid_uuid(text: str) -> bool:
    """stout uuid.hpp `UUID::fromBytes`: 16 bytes of a known UUID version."""
    raw = base64.b64decode(text)
    return len(raw) == 16 and 1 <= raw[6] >> 4 <= 5


def _convert(value: object, shape: object, where: str, mesos: MesosVersion,
             missing: list[str]) -> str | None:
    if isinstance(shape, Req):
        shape = shape.shape
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"'{where}' must be an object"
        for key, sub in shape.items():
            path = f"{where}.{key}" if where else key
            if key not in value or value[key] is None:
                value.pop(key, None)
                if isinstance(sub, Req) or (isinstance(sub, Enum) and sub.required):
                    missing.append(path)
                continue
            if isinstance(sub, Enum):
                problem = _enum(value, key, sub, path, mesos, missing)
            else:
                problem = _convert(value[key], sub, path, mesos, missing)
            if problem:
                return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"'{where}' must be an array"
        for index, item in enumerate(value):
            problem = _convert(item, shape[0], f"{where}[{index}]", mesos, missing)
            if problem:
                return problem
        return None
    if shape == Bytes:
        if not isinstance(value, str):
            return f"'{where}' has the wrong type"
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as err:
            return f"Failed to base64 decode bytes field '{where.rsplit('.', 1)[-1]}': {err}"
        return None
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, bool) and bool not in kinds:
        return f"'{where}' has the wrong type"
    if not isinstance(value, kinds):
        return f"'{where}' has the wrong type"
    return None


def _enum(parent: dict, key: str, enum: Enum, where: str, mesos: MesosVersion,
          missing: list[str]) -> str | None:
    value = parent[key]
    if not isinstance(value, str):
        return f"'{where}' has the wrong type"
    names = enum.names if enum.names is not None else mesos.call_types | {"UNKNOWN"}
    if value in names:
        return None
    if enum.required or not mesos.drops_unknown_enums:
        return f"Failed to find enum for '{value}'"
    del parent[key]  # proto2: an unknown value of an optional enum is discarded
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


def validate_task(info: dict, agent_id: str, known_tasks: Mapping[str, object],
                  available: dict[str, Resources],
                  allocation_role: str | None = None) -> tuple[str, Resources]:
    """The reservation role and resources a TaskInfo in a LAUNCH takes from the offered
    `available`; TaskInvalid worded as the master words it (the task then ends in
    TASK_ERROR). For a MULTI_ROLE framework the resources must carry the offer's
    `allocation_info` (the offered resources contain only such ones)."""
    task_id = (info.get("task_id") or {}).get("value")
    if id_problem(task_id):
        raise TaskInvalid(f"Task ID '{task_id}' is invalid: {id_problem(task_id)}")
    if task_id in known_tasks:
        raise TaskInvalid(f"Task has duplicate ID: {task_id}")
    if (info.get("agent_id") or {}).get("value") != agent_id:
        raise TaskInvalid(
            f"Task uses invalid agent: {(info.get('agent_id') or {}).get('value')}")
    if not isinstance(info.get("name"), str):
        raise TaskInvalid("Task has no 'name'")
    if ("command" in info) == ("executor" in info):
        raise TaskInvalid(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo")
    if "executor" in info:
        raise TaskInvalid("Custom executors are not supported by this emulator")
    problem = command_problem(info["command"])
    if problem is None and "health_check" in info:
        problem = health_check_problem(info["health_check"])
    if problem is not None:
        raise TaskInvalid(f"Task is invalid: {problem}")
    try:
        by_role = resources_from_v1(info.get("resources") or [])
    except ResourceError as err:
        raise TaskInvalid(f"Task uses invalid resources: {err}") from err
    if len(by_role) != 1:
        raise TaskInvalid("Task must use resources of exactly one role")
    (role, needed), = by_role.items()
    if not any(needed.scalars.get(k, 0) > 0 for k in ("cpus", "mem")):
        raise TaskInvalid("Task uses no resources")
    allocated_to = allocation_roles(info.get("resources") or [])
    if allocation_role is not None and None in allocated_to:
        raise TaskInvalid("The resources are not allocated to a role")
    if allocation_role is not None and len(allocated_to) > 1:
        raise TaskInvalid("The resources have multiple allocation roles but only one "
                          "allocation role is allowed")
    wrong_allocation = allocation_role is not None and allocated_to != {allocation_role}
    if wrong_allocation or role not in available or not available[role].contains(needed):
        offered = {r: a.to_summary() for r, a in available.items()}
        raise TaskInvalid(f"Total resources {needed.to_summary()} required by task and its "
                          f"executor is more than available {offered}")
    return role, needed
