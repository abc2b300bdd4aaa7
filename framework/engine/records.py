"""Leaf facts: what the engine stores per agent (one JSON value per agent) and the control.

Nothing here is an aggregate: agent state, rollout state, counts and waiting reasons are
derived from these records by pure functions. `to_dict`/`from_dict` round-trip exactly;
`from_dict` rejects malformed input with a RecordError naming the field.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from framework.engine.errors import RecordError
from framework.engine.reports import TaskReport
from framework.engine.tasks import KNOWN_STATES

RECORD_VERSION = 1

ROLE_PRIVATE = "private"
ROLE_PUBLIC = "public"
ROLES = (ROLE_PRIVATE, ROLE_PUBLIC)

PRESENCE_ACTIVE = "active"
PRESENCE_UNREACHABLE = "unreachable"
PRESENCE_GONE = "gone"
PRESENCES = (PRESENCE_ACTIVE, PRESENCE_UNREACHABLE, PRESENCE_GONE)


HISTORY_KEPT = 4


@dataclass(frozen=True, slots=True)
class PastTask:
    """An earlier task of a step, kept so operators can see what was tried; `report` is
    what the installer said about it, once read from its sandbox."""

    task_id: str
    state: str | None
    attempt: int
    message: str | None
    started_at: float | None
    updated_at: float | None
    report: TaskReport | None = None

    def to_dict(self) -> dict[str, Any]:
        value = {"task_id": self.task_id, "state": self.state, "attempt": self.attempt,
                 "message": self.message, "started_at": self.started_at,
                 "updated_at": self.updated_at}
        if self.report is not None:
            value["report"] = self.report.to_dict()
        return value

    @classmethod
    def from_dict(cls, data: Any, where: str) -> PastTask:
        if not isinstance(data, Mapping) or set(data) - {"report"} != set(_PAST_FIELDS):
            raise RecordError(f"{where}: expected an object with {sorted(_PAST_FIELDS)}")
        for name, kinds in _PAST_FIELDS.items():
            value = data[name]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise RecordError(f"{where}.{name}: unexpected value {value!r}")
        values = {k: float(v) if k.endswith("_at") and v is not None else v
                  for k, v in data.items() if k != "report"}
        _share(values, _SHARED_PAST_FIELDS)
        report = data.get("report")
        return cls(**values, report=None if report is None
                   else TaskReport.from_dict(report, f"{where}.report"))


@dataclass(frozen=True, slots=True)
class StepRecord:
    """Facts about one step on one agent.

    `task_hash` is the target hash the last task was launched with; `attempts`, `failures`
    and `reruns` count launches, failed outcomes and run-again outcomes for that hash.
    `done_hash`: one-shot steps finished (long-running steps reached healthy RUNNING) with it.
    `skipped_hash`: an operator skipped the step while this was its target.
    `released`: an operator retried or skipped the step, so it holds no restart slot until
    its next launch; `kill_requested`: the engine killed the task, so its end is expected.
    `history`: the step's earlier tasks, newest first, at most HISTORY_KEPT.
    `report`: what the installer said about the current task, once read from its sandbox.
    `restart_hash`: an installer run found that this host needs a unit restart to reach
    this target (exit 76), so the step's next launch needs a restart slot;
    `restart_reason`: the installer's reason line for it. `restart_allowed`: the last task
    was launched with restarts allowed (holding a slot); true for records stored before
    these fields existed, whose disruptive tasks always could restart.
    """

    task_id: str | None = None
    task_hash: str | None = None
    task_state: str | None = None
    kill_requested: bool = False
    healthy: bool | None = None
    done_hash: str | None = None
    skipped_hash: str | None = None
    released: bool = False
    attempts: int = 0
    failures: int = 0
    reruns: int = 0
    message: str | None = None
    launched_at: float | None = None
    running_since: float | None = None
    updated_at: float | None = None
    backoff_until: float | None = None
    restart_hash: str | None = None
    restart_reason: str | None = None
    restart_allowed: bool = True
    address: str | None = None
    history: tuple[PastTask, ...] = ()
    report: TaskReport | None = None

    def current_task(self) -> PastTask | None:
        """The latest task as a history entry, or None before any launch."""
        if self.task_id is None:
            return None
        return PastTask(self.task_id, self.task_state, self.attempts, self.message,
                        self.launched_at, self.updated_at, self.report)

    def to_dict(self) -> dict[str, Any]:
        value = {name: getattr(self, name) for name in _STEP_FIELDS}
        if self.history:
            value["history"] = [past.to_dict() for past in self.history]
        if self.report is not None:
            value["report"] = self.report.to_dict()
        return value

    @classmethod
    def from_dict(cls, data: Any, where: str = "step") -> StepRecord:
        if not isinstance(data, Mapping):
            raise RecordError(f"{where}: expected an object, got {type(data).__name__}")
        unknown = set(data) - set(_STEP_FIELDS) - {"history", "report"}
        if unknown:
            raise RecordError(f"{where}: unknown fields {sorted(unknown)}")
        values = {}
        for name, kinds in _STEP_FIELDS.items():
            value = data.get(name, _DEFAULTS[name])
            if isinstance(value, int) and float in kinds and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise RecordError(f"{where}.{name}: unexpected value {value!r}")
            values[name] = value
        if values["task_state"] is not None and values["task_state"] not in KNOWN_STATES:
            raise RecordError(f"{where}.task_state: unknown state {values['task_state']!r}")
        _share(values, _SHARED_FIELDS)
        if min(values["attempts"], values["failures"], values["reruns"]) < 0:
            raise RecordError(f"{where}: counters must not be negative")
        history = data.get("history", [])
        if not isinstance(history, list) or len(history) > HISTORY_KEPT:
            raise RecordError(f"{where}.history: expected a list of at most {HISTORY_KEPT}")
        values["history"] = tuple(PastTask.from_dict(item, f"{where}.history[{index}]")
                                  for index, item in enumerate(history))
        report = data.get("report")
        values["report"] = None if report is None else TaskReport.from_dict(
            report, f"{where}.report")
        return cls(**values)


_OPT_STR = (str, type(None))
_OPT_NUM = (float, type(None))
_STEP_FIELDS: dict[str, tuple[type, ...]] = {
    "task_id": _OPT_STR,
    "task_hash": _OPT_STR,
    "task_state": _OPT_STR,
    "kill_requested": (bool,),
    "healthy": (bool, type(None)),
    "done_hash": _OPT_STR,
    "skipped_hash": _OPT_STR,
    "released": (bool,),
    "attempts": (int,),
    "failures": (int,),
    "reruns": (int,),
    "message": _OPT_STR,
    "launched_at": _OPT_NUM,
    "running_since": _OPT_NUM,
    "updated_at": _OPT_NUM,
    "backoff_until": _OPT_NUM,
    "restart_hash": _OPT_STR,
    "restart_reason": _OPT_STR,
    "restart_allowed": (bool,),
    "address": _OPT_STR,
}
_PAST_FIELDS: dict[str, tuple[type, ...]] = {
    "task_id": (str,),
    "state": _OPT_STR,
    "attempt": (int,),
    "message": _OPT_STR,
    "started_at": (float, int, type(None)),
    "updated_at": (float, int, type(None)),
}
# Fields that hold one of a few values on every agent (the plan's target hashes, task
# states, outcome messages): one string each, as in the records the engine makes, not one
# per stored record decoded (at 10,000 agents 15 MB of copies of the same 64-character
# hashes, 4 per step).
_SHARED_FIELDS = ("task_hash", "task_state", "done_hash", "skipped_hash", "message",
                  "restart_hash")
_SHARED_PAST_FIELDS = ("state", "message")


def _share(values: dict[str, Any], names: tuple[str, ...]) -> None:
    """Replace the decoded strings of `names` with the one shared copy of each value."""
    for name in names:
        if values[name] is not None:
            values[name] = sys.intern(values[name])


_DEFAULTS = StepRecord().to_dict()
EMPTY_STEP = StepRecord()


@dataclass(frozen=True, slots=True)
class OperatorNote:
    """Who did what to an agent or the rollout, when and why."""

    action: str
    by: str
    at: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "by": self.by, "at": self.at, "why": self.why}

    @classmethod
    def from_dict(cls, data: Any, where: str = "note") -> OperatorNote:
        if not isinstance(data, Mapping):
            raise RecordError(f"{where}: expected an object")
        try:
            action, by, at, why = data["action"], data["by"], data["at"], data["why"]
        except KeyError as err:
            raise RecordError(f"{where}: missing field {err.args[0]!r}") from None
        if not all(isinstance(v, str) for v in (action, by, why)):
            raise RecordError(f"{where}: action, by and why must be strings")
        if isinstance(at, bool) or not isinstance(at, int | float):
            raise RecordError(f"{where}.at: expected unix seconds, got {at!r}")
        return cls(action, by, float(at), why)


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """One agent: identity, presence as the master reports it, and its step records."""

    agent_id: str
    hostname: str
    role: str = ROLE_PRIVATE
    presence: str = PRESENCE_ACTIVE
    presence_since: float | None = None
    steps: Mapping[str, StepRecord] = field(default_factory=dict)
    note: OperatorNote | None = None

    def step(self, name: str) -> StepRecord:
        return self.steps.get(name, EMPTY_STEP)

    def with_step(self, name: str, record: StepRecord) -> AgentRecord:
        steps = dict(self.steps)
        steps[name] = record
        return AgentRecord(
            self.agent_id,
            self.hostname,
            self.role,
            self.presence,
            self.presence_since,
            steps,
            self.note,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "id": self.agent_id,
            "hostname": self.hostname,
            "role": self.role,
            "presence": self.presence,
            "presence_since": self.presence_since,
            "steps": {name: rec.to_dict() for name, rec in sorted(self.steps.items())},
            "note": None if self.note is None else self.note.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> AgentRecord:
        if not isinstance(data, Mapping):
            raise RecordError(f"agent record: expected an object, got {type(data).__name__}")
        if data.get("version") != RECORD_VERSION:
            raise RecordError(f"agent record: unsupported version {data.get('version')!r}")
        agent_id, hostname = data.get("id"), data.get("hostname")
        if not isinstance(agent_id, str) or not agent_id:
            raise RecordError(f"agent record: bad id {agent_id!r}")
        where = f"agent {agent_id}"
        if not isinstance(hostname, str):
            raise RecordError(f"{where}.hostname: expected a string")
        role, presence = data.get("role"), data.get("presence")
        if role not in ROLES:
            raise RecordError(f"{where}.role: {role!r} is not one of {ROLES}")
        if presence not in PRESENCES:
            raise RecordError(f"{where}.presence: {presence!r} is not one of {PRESENCES}")
        since = data.get("presence_since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int | float)):
            raise RecordError(f"{where}.presence_since: expected unix seconds")
        steps = data.get("steps", {})
        if not isinstance(steps, Mapping):
            raise RecordError(f"{where}.steps: expected an object")
        note = data.get("note")
        return cls(
            agent_id=agent_id,
            hostname=hostname,
            role=role,
            presence=presence,
            presence_since=None if since is None else float(since),
            steps={
                str(name): StepRecord.from_dict(rec, f"{where}.steps.{name}")
                for name, rec in steps.items()
            },
            note=None if note is None else OperatorNote.from_dict(note, f"{where}.note"),
        )


@dataclass(frozen=True, slots=True)
class RolloutControl:
    """Rollout-wide operator control: paused or not, by whom, when and why; and the uninstall
    request (who, when, why), which is never withdrawn once made."""

    paused: bool = False
    by: str | None = None
    at: float | None = None
    why: str | None = None
    uninstall: OperatorNote | None = None

    @property
    def uninstalling(self) -> bool:
        return self.uninstall is not None

    def to_dict(self) -> dict[str, Any]:
        return {"paused": self.paused, "by": self.by, "at": self.at, "why": self.why,
                "uninstall": None if self.uninstall is None else self.uninstall.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> RolloutControl:
        if not isinstance(data, Mapping) or not isinstance(data.get("paused"), bool):
            raise RecordError("control: expected an object with a boolean 'paused'")
        by, at, why = data.get("by"), data.get("at"), data.get("why")
        if not isinstance(by, _OPT_STR) or not isinstance(why, _OPT_STR):
            raise RecordError("control: 'by' and 'why' must be strings or null")
        if at is not None and (isinstance(at, bool) or not isinstance(at, int | float)):
            raise RecordError("control.at: expected unix seconds or null")
        uninstall = data.get("uninstall")
        return cls(data["paused"], by, None if at is None else float(at), why,
                   None if uninstall is None
                   else OperatorNote.from_dict(uninstall, "control.uninstall"))
