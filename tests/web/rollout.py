"""A scripted, in-memory rollout that implements the web app's `StatusSource` and `OperatorActions`.

Tests advance it one transition at a time (`advance()`), exactly as the scheduler would
publish new status documents, and it applies operator actions the way the scheduler's
contract says: idempotent, recorded in the event log, typed errors otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from web.contracts import Document, NotApplicableError, UnknownAgentError

STEPS = (("etcd-proxy", False), ("docker", True), ("cni", True), ("calico-node", False))
START = 1_764_240_000.0
MAX_EVENTS = 500


@dataclass
class Task:
    task_id: str
    state: str
    attempt: int
    message: str | None
    started_at: float
    updated_at: float


@dataclass
class Step:
    name: str
    disruptive: bool
    state: str = "pending"
    attempts: int = 0
    message: str | None = None
    updated_at: float | None = None
    history: list[Task] = field(default_factory=list)


@dataclass
class Agent:
    id: str
    hostname: str
    role: str
    steps: list[Step]
    skipped: bool = False
    network: dict[str, Any] | None = None  # as the engine's network_doc words it

    @property
    def state(self) -> str:
        states = {step.state for step in self.steps}
        if "failed" in states:
            return "failed"
        if states <= {"complete", "skipped"}:
            return "complete"
        if states == {"pending"}:
            return "pending"
        return "in_progress"

    def current_step(self) -> Step | None:
        return next((s for s in self.steps if s.state not in ("complete", "skipped")), None)


class ScriptedRollout:
    """Five (or `hostnames`) agents rolled one at a time with a restart budget of one."""

    def __init__(self, hostnames: Sequence[str], clock: Callable[[], float] | None = None):
        self._lock = threading.Lock()
        self._now = START
        self._clock = clock or (lambda: self._now)
        self.agents = [
            Agent(
                id=f"4b1e3f0c-91a2-4d5e-8f00-7c2d9e1a6b3f-S{index}",
                hostname=hostname,
                role="public" if index == len(hostnames) - 1 else "private",
                steps=[Step(name, disruptive) for name, disruptive in STEPS],
            )
            for index, hostname in enumerate(hostnames)
        ]
        self.paused: dict[str, Any] = {"paused": False, "by": None, "at": None, "why": None}
        self.event_log: list[dict[str, Any]] = []
        self.started_at: float | None = None
        self.completed_at: float | None = None
        self.failing: set[tuple[str, str]] = set()
        self.unique = 0

    # ---------- StatusSource ----------

    def status(self) -> Document:
        with self._lock:
            return self._document()

    def agent(self, agent_id: str) -> Document | None:
        with self._lock:
            agent = self._find(agent_id)
            return None if agent is None else self._agent_doc(agent, with_history=True)

    def events(self, agent_id: str | None = None, limit: int = 100) -> Sequence[Document]:
        with self._lock:
            chosen = [e for e in self.event_log if agent_id is None or e["agent_id"] == agent_id]
            return [dict(e) for e in reversed(chosen)][:limit]

    # ---------- OperatorActions ----------

    def pause(self, by: str, why: str) -> None:
        with self._lock:
            if not self.paused["paused"]:
                self.paused = {"paused": True, "by": by, "at": self._clock(), "why": why}
            self._event("paused", f"rollout paused: {why}", None, by)

    def resume(self, by: str, why: str) -> None:
        with self._lock:
            self.paused = {"paused": False, "by": None, "at": None, "why": None}
            self._event("resumed", f"rollout resumed: {why}", None, by)

    def retry(self, agent_id: str, by: str, why: str) -> None:
        with self._lock:
            agent = self._require(agent_id)
            step = agent.current_step()
            if step is None or step.state != "failed":
                raise NotApplicableError(f"agent {agent_id} has no failed step to retry")
            self.failing.discard((agent.id, step.name))
            step.state, step.message = "pending", "retry requested"
            self._event("retry", f"retry {step.name}: {why}", agent.id, by)

    def skip(self, agent_id: str, by: str, why: str) -> None:
        with self._lock:
            agent = self._require(agent_id)
            step = agent.current_step()
            if step is None:
                raise NotApplicableError(f"agent {agent_id} is already complete")
            step.state, step.message = "skipped", f"skipped by {by}"
            self._event("skip", f"skip {step.name}: {why}", agent.id, by)

    # ---------- scripting ----------

    def say(self, hostname: str, step: str, message: str) -> None:
        """Set the current message of `step` on `hostname`, as a task status update would."""
        with self._lock:
            agent = next(a for a in self.agents if a.hostname == hostname)
            target = next(s for s in agent.steps if s.name == step)
            target.message, target.updated_at = message, self._clock()

    def fail(self, hostname: str, step: str) -> None:
        """Make the next run of `step` on `hostname` fail."""
        agent = next(a for a in self.agents if a.hostname == hostname)
        self.failing.add((agent.id, step))

    def advance(self, seconds: float = 7.0) -> bool:
        """One transition of the first agent with work left; False when nothing can move."""
        with self._lock:
            self._now += seconds
            if self.paused["paused"]:
                return False
            for agent in self.agents:
                step = agent.current_step()
                if step is None:
                    continue
                if step.state == "failed":
                    return False  # a failed agent keeps its slot: strict budget
                self._move(agent, step)
                if all(a.state == "complete" for a in self.agents):
                    self.completed_at = self._clock()
                return True
            return False

    @property
    def complete(self) -> bool:
        with self._lock:
            return all(agent.state == "complete" for agent in self.agents)

    # ---------- internals ----------

    def _move(self, agent: Agent, step: Step) -> None:
        now = self._clock()
        self.started_at = self.started_at or now
        if step.state == "pending":
            self.unique += 1
            step.attempts += 1
            task = Task(
                f"calico-{step.name}.{agent.id}.{self.unique:04d}",
                "running",
                step.attempts,
                f"running {step.name}",
                now,
                now,
            )
            step.history.append(task)
            step.state, step.message, step.updated_at = "running", task.message, now
            self._event("launched", f"launched {task.task_id}", agent.id, None)
            return
        failed = (agent.id, step.name) in self.failing
        step.state = "failed" if failed else "complete"
        step.message = f"{step.name} did not converge" if failed else f"{step.name} in place"
        step.updated_at = now
        task = step.history[-1]
        task.state = "TASK_FAILED" if failed else "TASK_FINISHED"
        task.message, task.updated_at = step.message, now
        self._event("failed" if failed else "finished", step.message, agent.id, None)

    def _find(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def _require(self, agent_id: str) -> Agent:
        agent = self._find(agent_id)
        if agent is None:
            raise UnknownAgentError(f"no agent with id {agent_id}")
        return agent

    def _event(self, kind: str, message: str, agent_id: str | None, by: str | None) -> None:
        seq = len(self.event_log) + 1
        self.event_log.append(
            {"seq": seq, "at": self._clock(), "kind": kind, "message": message,
             "agent_id": agent_id, "by": by}
        )
        del self.event_log[:-MAX_EVENTS]

    def _holds_slot(self, agent: Agent) -> bool:
        step = agent.current_step()
        return step is not None and step.disruptive and step.state in ("running", "failed")

    def _agent_doc(self, agent: Agent, with_history: bool = False) -> dict[str, Any]:
        step_docs = []
        for step in agent.steps:
            doc: dict[str, Any] = {
                "name": step.name,
                "state": step.state,
                "task_id": step.history[-1].task_id if step.history else None,
                "attempts": step.attempts,
                "message": step.message,
                "updated_at": step.updated_at,
                "disruptive": step.disruptive,
                "target_hash": "9f2c" + step.name,
            }
            if with_history:
                doc["history"] = [vars(task).copy() for task in step.history]
            step_docs.append(doc)
        waiting = None
        if agent.state == "pending" and any(self._holds_slot(a) for a in self.agents):
            waiting = "waiting for a restart slot"
        return {
            "id": agent.id,
            "hostname": agent.hostname,
            "role": agent.role,
            "state": agent.state,
            "waiting_reason": waiting,
            "holds_restart_slot": self._holds_slot(agent),
            # As the engine counts the installer's reports: each finished disruptive task
            # restarted its unit once here.
            "unit_restarts": sum(1 for step in agent.steps if step.disruptive
                                 for task in step.history if task.state == "TASK_FINISHED"),
            "network": agent.network,
            "steps": step_docs,
        }

    def _document(self) -> dict[str, Any]:
        agents = sorted(
            (self._agent_doc(a) for a in self.agents), key=lambda d: (d["hostname"], d["id"])
        )
        counts = {"total": len(agents)}
        for state in ("complete", "in_progress", "pending", "failed"):
            counts[state] = sum(1 for a in agents if a["state"] == state)
        holders = [a["id"] for a in agents if a["holds_restart_slot"]]
        done = counts["complete"] == counts["total"]
        if done:
            state, reason = "complete", None
        elif self.paused["paused"]:
            state, reason = "paused", f"paused by {self.paused['by']}"
        else:
            state, reason = "in_progress", None
        remaining = counts["total"] - counts["complete"]
        return {
            "framework": {"name": "calico", "id": "c0ffee-0001", "subscribed": True,
                          "leader": True},
            "rollout": {
                "state": state,
                "reason": reason,
                "control": dict(self.paused),
                "counts": counts,
                "gone": 0,
                "gone_retention_s": 604800.0,
                "budget": {"max_concurrent_restarts": 1, "in_use": len(holders),
                           "holders": holders},
                "failure_budget": {"max_failed": 1, "failed": counts["failed"]},
                "unit_restarts": sum(a["unit_restarts"] for a in agents),
                "started_at": self.started_at,
                "completed_at": self.completed_at if done else None,
                "eta_s": None if done or self.started_at is None else 56.0 * remaining,
                "config_hash": "ab12cd34",
            },
            "agents": agents,
            "generated_at": self._clock(),
        }


class FixedStatus:
    """A large, unchanging cluster: `count` agents, the last one mid-way and holding the
    restart slot (so its host name is not on the first page), the rest pending."""

    def __init__(self, count: int) -> None:
        agents = []
        for index in range(count):
            busy = index == count - 1
            steps = [
                {"name": name, "state": "running" if busy and name == "docker" else
                 ("complete" if busy and name == "etcd-proxy" else "pending"),
                 "task_id": None, "attempts": 1 if busy else 0, "message": None,
                 "updated_at": START if busy else None, "disruptive": disruptive,
                 "target_hash": "9f2c"}
                for name, disruptive in STEPS
            ]
            agents.append({
                "id": f"c0ffee-S{index}", "hostname": f"host-{index:05d}.example",
                "role": "private", "state": "in_progress" if busy else "pending",
                "waiting_reason": None if busy else "waiting for a restart slot",
                "holds_restart_slot": busy, "steps": steps,
            })
        self.document = {
            "framework": {"name": "calico", "id": "c0ffee-0001", "subscribed": True,
                          "leader": True},
            "rollout": {
                "state": "in_progress", "reason": None,
                "control": {"paused": False, "by": None, "at": None, "why": None},
                "counts": {"total": count, "complete": 0, "in_progress": 1,
                           "pending": count - 1, "failed": 0},
                "gone": 0,
                "budget": {"max_concurrent_restarts": 1, "in_use": 1,
                           "holders": [agents[-1]["id"]]},
                "failure_budget": {"max_failed": 1, "failed": 0},
                "started_at": START, "completed_at": None, "eta_s": None,
                "config_hash": "ab12cd34",
            },
            "agents": agents,
            "generated_at": START,
        }
        self._by_id = {agent["id"]: agent for agent in agents}

    def status(self) -> Document:
        return self.document

    def agent(self, agent_id: str) -> Document | None:
        return self._by_id.get(agent_id)

    def events(self, agent_id: str | None = None, limit: int = 100) -> Sequence[Document]:
        return []
