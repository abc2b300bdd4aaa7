"""A small simulated Mesos master and agents that apply engine actions the way Mesos would:
offers respect decline filters and suppression, kills reach only reachable agents, status
updates queue up and may arrive late, twice, or out of order."""

from __future__ import annotations

from dataclasses import dataclass, field

from framework.engine import (
    Action,
    Decline,
    Kill,
    Launch,
    Offer,
    Reconcile,
    Revive,
    RoleResources,
    Suppress,
    TaskStatus,
)
from framework.engine.plan import DISRUPTIVE_STEPS, LONG_RUNNING_STEPS
from framework.engine.tasks import TERMINAL_STATES


class InvariantBroken(AssertionError):
    """An engine action broke a rollout invariant."""


@dataclass
class SimTask:
    task_id: str
    agent_id: str
    step: str
    target_hash: str
    allow_restart: bool = True
    state: str = "TASK_STAGING"

    @property
    def live(self) -> bool:
        return self.state not in TERMINAL_STATES


@dataclass
class SimCluster:
    now: float = 0.0
    agents: dict[str, bool] = field(default_factory=dict)  # agent id -> reachable
    removed: set[str] = field(default_factory=set)
    tasks: dict[str, SimTask] = field(default_factory=dict)
    pending: list[TaskStatus] = field(default_factory=list)
    delivered: list[TaskStatus] = field(default_factory=list)
    filters: dict[str, float] = field(default_factory=dict)
    suppressed: bool = False
    finished: set[tuple[str, str, str]] = field(default_factory=set)
    drop_next_launch: bool = False
    _offer_agents: dict[str, str] = field(default_factory=dict)
    _offers: int = 0

    # -- offers ------------------------------------------------------------------------

    def can_offer(self, agent_id: str) -> bool:
        return (
            not self.suppressed
            and agent_id not in self.removed
            and self.agents.get(agent_id, False)
            and self.filters.get(agent_id, 0.0) <= self.now
        )

    def make_offer(self, agent_id: str, cpus: float = 4.0) -> Offer:
        self._offers += 1
        offer_id = f"o{self._offers}"
        self._offer_agents[offer_id] = agent_id
        return Offer(offer_id, agent_id, f"{agent_id}.example", (RoleResources("*", cpus, 4096),))

    # -- tasks -------------------------------------------------------------------------

    def live_tasks(self, reachable_only: bool = False) -> list[SimTask]:
        return [
            t
            for t in self.tasks.values()
            if t.live
            and t.agent_id not in self.removed
            and (not reachable_only or self.agents.get(t.agent_id, False))
        ]

    def report(self, task: SimTask, state: str, message: str | None = None, **kw) -> None:
        task.state = state
        self.pending.append(TaskStatus(task.task_id, state, message=message, **kw))

    def advance(self, task: SimTask, outcome: str) -> None:
        """Move a live task on: start it, or end it with `outcome` (ok, rerun, restart,
        fail); `restart`: a disruptive run without restarts allowed exits 76 (the host needs
        a restart), any other run succeeds."""
        if outcome == "restart":
            if task.step in DISRUPTIVE_STEPS and not task.allow_restart \
                    and task.state != "TASK_STAGING":
                self.report(task, "TASK_FAILED", message="Command exited with status 76")
                return
            outcome = "ok"
        if task.state == "TASK_STAGING":
            self.report(task, "TASK_RUNNING")
        elif task.step in LONG_RUNNING_STEPS:
            if outcome != "ok":
                self.report(task, "TASK_FAILED", message="crashed")
        elif outcome == "ok":
            self.finished.add((task.agent_id, task.step, task.target_hash))
            self.report(task, "TASK_FINISHED")
        elif outcome == "rerun":
            self.report(task, "TASK_FAILED", message="Command exited with exit status 75")
        else:
            self.report(task, "TASK_FAILED", message="installer failed")

    def take_update(self, index: int) -> TaskStatus:
        """Deliver a pending update. A master recovers an ended task's resources as it
        forwards its terminal update, and offers them only after: the agent's free
        resources are then no longer contained in what a filter refused, which no longer
        applies (hierarchical.cpp `RefusedOfferFilter::filter`)."""
        update = self.pending.pop(index)
        task = self.tasks.get(update.task_id)
        if task is not None and update.state in TERMINAL_STATES:
            self.filters.pop(task.agent_id, None)
        return update

    def restart_agent(self, agent_id: str) -> None:
        """A unit restart kills the installer task that triggered it (only a run allowed to
        restart one triggers it)."""
        for task in self.live_tasks(reachable_only=True):
            if task.agent_id == agent_id and task.step in DISRUPTIVE_STEPS \
                    and task.allow_restart:
                self.report(task, "TASK_KILLED", reason="REASON_AGENT_RESTARTED")

    def reregister(self, agent_id: str) -> None:
        self.agents[agent_id] = True
        for task in self.live_tasks():
            if task.agent_id == agent_id:
                self.pending.append(TaskStatus(task.task_id, task.state))

    # -- applying engine actions -------------------------------------------------------

    def apply(self, actions: tuple[Action, ...], check_launch) -> None:
        for action in actions:
            if isinstance(action, Launch):
                check_launch(action)
                if action.task_id in self.tasks:
                    raise InvariantBroken(f"task id used twice: {action.task_id}")
                task = SimTask(action.task_id, action.agent_id, action.step, action.target_hash,
                               action.allow_restart)
                self.tasks[task.task_id] = task
                if self.drop_next_launch:
                    self.drop_next_launch = False
                    self.report(task, "TASK_DROPPED")
            elif isinstance(action, Decline):
                agent_id = self._offer_agents.pop(action.offer_id)
                self.filters[agent_id] = self.now + action.refuse_seconds
            elif isinstance(action, Kill):
                task = self.tasks.get(action.task_id)
                if task and task.live and self.agents.get(task.agent_id, False):
                    self.report(task, "TASK_KILLED")
            elif isinstance(action, Suppress):
                self.suppressed = True
            elif isinstance(action, Revive):
                self.suppressed = False
                self.filters.clear()
            elif isinstance(action, Reconcile):
                self._reconcile(action)

    def _reconcile(self, action: Reconcile) -> None:
        if not action.tasks:
            for task in self.live_tasks():
                self.pending.append(TaskStatus(task.task_id, task.state))
            return
        for task_id, _agent_id in action.tasks:
            task = self.tasks.get(task_id)
            state = "TASK_UNKNOWN" if task is None else task.state
            self.pending.append(TaskStatus(task_id, state))

    def launched_offer(self, launch: Launch) -> None:
        self._offer_agents.pop(launch.offer_id, None)
