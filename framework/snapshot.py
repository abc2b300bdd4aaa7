"""What the web app reads: an immutable status document the scheduler publishes, plus the
operator actions it forwards to the scheduler's single worker."""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from framework.engine import AgentRecord, Event, StepRecord, UnknownAgentError
from framework.engine.uninstall import STOPPED_STEPS
from framework.state import StateStore, StoreError
from web import ControlUnavailableError, NotApplicableError
from web import UnknownAgentError as WebUnknownAgent

OPERATOR_DEADLINE_S = 10.0


class Snapshot:
    """The latest status document and the agent records it was derived from, replaced
    whole; readers never see a half-built one. Records are immutable values."""

    def __init__(self, document: dict[str, Any],
                 records: Mapping[str, AgentRecord] | None = None) -> None:
        self._lock = threading.Lock()
        self._document = document
        self._by_id: dict[str, dict] = {}
        self._records: Mapping[str, AgentRecord] = records or {}

    def publish(self, document: dict[str, Any], records: Mapping[str, AgentRecord]) -> None:
        by_id = {agent["id"]: agent for agent in document.get("agents", [])}
        with self._lock:
            self._document, self._by_id, self._records = document, by_id, records

    def document(self) -> dict[str, Any]:
        with self._lock:
            return self._document

    def agent_detail(self, agent_id: str) -> dict | None:
        """The agent's status entry with each step's task history, oldest first."""
        with self._lock:
            entry, record = self._by_id.get(agent_id), self._records.get(agent_id)
        if entry is None or record is None:
            return entry
        steps = [{**step, "history": task_history(
                    record.step(STOPPED_STEPS.get(step["name"], step["name"])))}
                 for step in entry["steps"]]
        return {**entry, "steps": steps}


def task_history(rec: StepRecord) -> list[dict]:
    """Each task of the step, oldest first; one the installer reported on carries `report`
    with a one-line `summary` of what it changed on the host."""
    current = rec.current_task()
    tasks = [*reversed(rec.history), *([current] if current else [])]
    entries = []
    for task in tasks:
        entry = task.to_dict()
        if task.report is not None:
            entry["report"]["summary"] = task.report.summary
        entries.append(entry)
    return entries


class StatusView:
    """`web.StatusSource` over a Snapshot and the store's event log."""

    def __init__(self, snapshot: Snapshot, store: StateStore) -> None:
        self.snapshot = snapshot
        self.store = store

    def status(self) -> dict[str, Any]:
        return self.snapshot.document()

    def agent(self, agent_id: str) -> dict | None:
        return self.snapshot.agent_detail(agent_id)

    def events(self, agent_id: str | None = None, limit: int = 100) -> list[dict]:
        try:
            events = self.store.recent_events(limit=limit, agent_id=agent_id)
        except StoreError:
            return []
        return [{"seq": e.seq, "at": e.at, "kind": e.kind, "message": e.message,
                 "agent_id": e.agent_id, "by": e.by} for e in events]


@dataclass
class OperatorRequest:
    """An operator event for the worker. Exactly one side takes it: the worker claims it
    (then `done` is set once it was decided and stored, or refused), or the caller
    withdraws it at its deadline and the worker drops it unseen. So a caller told "not
    recorded" can trust that the action never takes effect later."""

    event: Event
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None
    _taken_by: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self, who: str) -> bool:
        with self._lock:
            if self._taken_by is not None:
                return False
            self._taken_by = who
            return True

    def claim(self) -> bool:
        """For the worker: True when it may carry the request out."""
        return self._take("worker")

    def withdraw(self) -> bool:
        """For the caller: True when the worker never will."""
        return self._take("caller")


class OperatorControl:
    """`web.OperatorActions`: hands each action to the worker and waits for its outcome."""

    def __init__(self, inbox: queue.Queue, make_event,
                 deadline_s: float = OPERATOR_DEADLINE_S) -> None:
        self.inbox = inbox
        self.make_event = make_event
        self.deadline_s = deadline_s

    def _submit(self, kind: str, *args: str) -> None:
        request = OperatorRequest(self.make_event(kind, *args))
        self.inbox.put(request)
        if not request.done.wait(self.deadline_s) and request.withdraw():
            raise ControlUnavailableError(
                "the scheduler did not take up the action in time (is etcd reachable?); "
                "it was dropped and will not take effect")
        # Claimed by the worker: its outcome is the answer, however long storing it takes
        # (each etcd request is bounded by the connection's timeout).
        request.done.wait()
        if isinstance(request.error, UnknownAgentError):
            raise WebUnknownAgent(str(request.error))
        if isinstance(request.error, StoreError):
            raise ControlUnavailableError(f"could not record the action: {request.error}")
        if request.error is not None:
            raise NotApplicableError(str(request.error))

    def pause(self, by: str, why: str) -> None:
        self._submit("pause", by, why)

    def resume(self, by: str, why: str) -> None:
        self._submit("resume", by, why)

    def retry(self, agent_id: str, by: str, why: str) -> None:
        self._submit("retry", agent_id, by, why)

    def skip(self, agent_id: str, by: str, why: str) -> None:
        self._submit("skip", agent_id, by, why)
