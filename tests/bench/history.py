"""What the scheduler wrote to etcd during a run, read back from etcd's own revision history.

Every write of an agent record is one revision of its key, so the history tells exactly how
many writes each agent cost and what each one changed: step attempts (launch to outcome)
and the public step-state transitions of docs/status-api.md.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field

import etcd3
import grpc
from etcd3 import etcdrpc
from etcd3.etcdrpc import kv_pb2

from framework.engine import AgentRecord, Plan, StepRecord
from framework.engine.policy import RetryPolicy
from framework.engine.status import step_state
from framework.engine.steps import step_phase
from framework.engine.tasks import TERMINAL_STATES
from framework.state.keys import DEFAULT_ROOT

MARKER_KEY = "/bench/end-of-history"
WATCH_DEADLINE_S = 60.0


class HistoryError(RuntimeError):
    """etcd's history could not be read completely."""


@dataclass(frozen=True)
class Attempt:
    """One task of one step: launched at `launched_at`, outcome (or healthy) at `ended_at`."""

    step: str
    task_id: str
    launched_at: float
    ended_at: float
    restart_allowed: bool = True  # False: a live run, which holds no restart slot

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.launched_at


@dataclass
class AgentHistory:
    agent_id: str
    records: list[AgentRecord] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.records)


def read_agent_histories(endpoint: str, framework_name: str) -> dict[str, AgentHistory]:
    """Every stored version of every agent record, oldest first, from revision 1.

    One watch stream from revision 1 replays the whole history; a marker key written first
    tells where it ends (its own write: a cluster read twice holds earlier markers). The
    raw stub is used so no watcher thread outlives the call.
    """
    url = urllib.parse.urlsplit(endpoint)
    client = etcd3.client(host=url.hostname, port=url.port)
    prefix = f"{DEFAULT_ROOT}/{framework_name}/agents/"
    stop = threading.Event()

    def requests():
        yield etcdrpc.WatchRequest(create_request=etcdrpc.WatchCreateRequest(
            key=b"/", range_end=b"0", start_revision=1))
        stop.wait()

    histories: dict[str, AgentHistory] = {}
    try:
        marker_revision = client.put(MARKER_KEY, b"1").header.revision
        responses = etcdrpc.WatchStub(client.channel).Watch(requests(),
                                                             timeout=WATCH_DEADLINE_S)
        try:
            for response in responses:
                for event in response.events:
                    key = event.kv.key.decode()
                    if key == MARKER_KEY and event.kv.mod_revision >= marker_revision:
                        return histories
                    if key.startswith(prefix) and event.type == kv_pb2.Event.PUT:
                        agent_id = key[len(prefix):]
                        history = histories.setdefault(agent_id, AgentHistory(agent_id))
                        history.records.append(AgentRecord.from_dict(json.loads(event.kv.value)))
        except grpc.RpcError as err:
            raise HistoryError(f"reading etcd's history failed: {err.code()}") from None
        finally:
            stop.set()
            responses.cancel()
        raise HistoryError("etcd's history ended before the marker")
    finally:
        client.close()


def attempts(plan: Plan, history: AgentHistory, since: float = 0.0) -> list[Attempt]:
    """Each task launched with the step's current target (at or after `since`), from launch
    to its outcome: a terminal state, or for long-running steps the first healthy
    TASK_RUNNING (done)."""
    found: dict[str, Attempt] = {}
    for record in history.records:
        for spec in plan.steps:
            rec = record.step(spec.name)
            if rec.task_id is None or rec.task_hash != spec.target_hash:
                continue
            if rec.task_id in found or rec.launched_at is None or rec.updated_at is None \
                    or rec.launched_at < since:
                continue
            ended = rec.task_state in TERMINAL_STATES or (
                spec.long_running and rec.done_hash == spec.target_hash)
            if ended:
                found[rec.task_id] = Attempt(spec.name, rec.task_id, rec.launched_at,
                                             rec.updated_at, rec.restart_allowed)
    return sorted(found.values(), key=lambda a: a.launched_at)


def step_transitions(plan: Plan, retry: RetryPolicy, history: AgentHistory) -> int:
    """Changes of any step's public state (pending, staging, running, complete, ...) across
    the agent's stored versions, counted from an implicit all-pending start."""
    last: dict[str, str] = defaultdict(lambda: "pending")
    changes = 0
    for record in history.records:
        for spec in plan.steps:
            rec: StepRecord = record.step(spec.name)
            now = rec.updated_at or 0.0
            state = step_state(spec, rec, step_phase(spec, rec, retry), now)
            if state != last[spec.name]:
                changes += 1
                last[spec.name] = state
    return changes
