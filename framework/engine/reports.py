"""What the installer said about one task run: its one-line reason and what it changed on the
host (files written or removed, units restarted or reloaded and how long they took).

Mesos only reports "Command exited with status N" for a command task; the installer writes
the rest into a result file in the task's sandbox (installer/README.md, "Result file"),
which the scheduler reads from the agent and hands the engine as `TaskReported`. A report
is a leaf fact of the task it describes; it changes no decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from framework.engine.errors import RecordError

NEEDS_RESTART_STATUS = "needs-restart"  # installer exit 76
STATUSES = ("ok", "skipped", "again", "failed", NEEDS_RESTART_STATUS, "exited")
RESTARTED = "restarted"
ACTIONS = ("wrote", "removed", "restored", RESTARTED, "reloaded")
MAX_CHANGES = 20
MAX_TEXT = 300


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{where}: expected a non-empty string")
    flat = " ".join(value.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…"


def _seconds(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e7:
        raise RecordError(f"{where}: expected seconds or null, got {value!r}")
    return round(float(value), 1)


@dataclass(frozen=True, slots=True)
class HostChange:
    """One change on the host: `action` on `target` (a host path or a unit name);
    `seconds` is how long a restarted or reloaded unit took to be active again."""

    action: str
    target: str
    seconds: float | None = None

    def describe(self) -> str:
        took = "" if self.seconds is None else f" in {self.seconds:g} s"
        return f"{self.action} {self.target}{took}"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> HostChange:
        if not isinstance(data, Mapping) or data.get("action") not in ACTIONS:
            raise RecordError(f"{where}: expected an object with an action in {ACTIONS}")
        return cls(data["action"], _text(data.get("target"), f"{where}.target"),
                   _seconds(data.get("seconds"), f"{where}.seconds"))


@dataclass(frozen=True, slots=True)
class TaskReport:
    """The installer's account of one task run."""

    status: str
    message: str
    changes: tuple[HostChange, ...] = ()
    duration_s: float | None = None

    @property
    def summary(self) -> str:
        """What changed on the host, in one line."""
        return "; ".join(change.describe() for change in self.changes) or "nothing changed"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message,
                "changes": [change.to_dict() for change in self.changes],
                "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: Any, where: str = "report") -> TaskReport:
        if not isinstance(data, Mapping) or data.get("status") not in STATUSES:
            raise RecordError(f"{where}: expected an object with a status in {STATUSES}")
        changes = data.get("changes", [])
        if not isinstance(changes, list):
            raise RecordError(f"{where}.changes: expected a list")
        return cls(
            status=data["status"],
            message=_text(data.get("message"), f"{where}.message"),
            changes=tuple(HostChange.from_dict(item, f"{where}.changes[{index}]")
                          for index, item in enumerate(changes[:MAX_CHANGES])),
            duration_s=_seconds(data.get("duration_s"), f"{where}.duration_s"),
        )

    @classmethod
    def from_result_file(cls, result: Any) -> TaskReport:
        """From the installer's result file (`installer.result.write_result`)."""
        if not isinstance(result, Mapping):
            raise RecordError("result file: expected a JSON object")
        started, finished = result.get("started_at"), result.get("finished_at")
        duration = None
        if all(isinstance(t, int | float) and not isinstance(t, bool)
               for t in (started, finished)) and finished >= started:
            duration = finished - started
        return cls.from_dict({"status": result.get("status"), "message": result.get("message"),
                              "changes": result.get("changes", []), "duration_s": duration},
                             "result file")
