"""The rollout engine: one `decide(event, now)` that turns an event into records and actions.

The engine keeps the current records in memory with indexes over their derived facts (who
holds a restart slot, who is in flight, who wants offers, who failed), so an offer is decided
in constant time however many agents there are. It performs no I/O: the caller stores the
decision's records, then applies its actions; if storing fails it calls `rollback`.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from framework.engine.actions import (
    Action,
    Decision,
    Decline,
    Kill,
    Launch,
    Notice,
    Reconcile,
    Revive,
    Suppress,
    Teardown,
)
from framework.engine.errors import TaskIdError, UnknownAgentError
from framework.engine.events import (
    AgentInfo,
    AgentRemoved,
    AgentSeen,
    AgentsListed,
    AgentUnreachable,
    Event,
    Offer,
    Offers,
    Pause,
    Resume,
    RetryAgent,
    SkipAgent,
    Subscribed,
    TaskReported,
    TaskStatus,
    Tick,
    Uninstall,
)
from framework.engine.lines import Line
from framework.engine.plan import STEP_CALICO_NODE, STEP_UNINSTALL, Plan, StepSpec
from framework.engine.policy import Policy
from framework.engine.progress import (
    AGENT_COMPLETE,
    AGENT_GONE,
    AgentFacts,
    Block,
    Blocker,
    Gates,
    agent_facts,
    blocker,
)
from framework.engine.reasons import shortfall
from framework.engine.records import (
    PRESENCE_ACTIVE,
    PRESENCE_GONE,
    PRESENCE_UNREACHABLE,
    AgentRecord,
    OperatorNote,
    RolloutControl,
    StepRecord,
)
from framework.engine.reports import NEEDS_RESTART_STATUS
from framework.engine.status import Observations, status_document
from framework.engine.steps import (
    SATISFIED,
    Phase,
    kill_requested,
    launched,
    retried,
    skipped,
    uninstall_began,
)
from framework.engine.steps import step_phase as phase_of
from framework.engine.steps import updated as step_updated
from framework.engine.tasks import (
    INFERRED_TERMINAL_STATES,
    KNOWN_STATES,
    LAUNCHED,
    PROBE,
    REASON_RECONCILIATION,
    TASK_GONE_BY_OPERATOR,
    TASK_UNKNOWN,
    TASK_UNREACHABLE,
    TERMINAL_STATES,
    is_live,
    make_task_id,
    parse_task_id,
    rank,
)
from framework.engine.uninstall import (
    STAGE_STEPS,
    Stage,
    stage_record,
    uninstall_blocker,
    uninstall_facts,
)

# Offers are compared with this slack so 0.1 offered satisfies 0.1 needed.
RESOURCE_EPSILON = 1e-9


class AfterRemoval(enum.Enum):
    """What follows when the master removed the framework ("Framework has been removed":
    its tasks are gone, not what the installer changed on the agents)."""

    REGISTER_AFRESH = "register afresh"  # forget the records: agents are found again
    FINISH_UNINSTALL = "finish the uninstall"  # keep the records: where Calico still is
    UNINSTALLED = "uninstalled"  # the uninstall was complete: nothing is left to do


class _Txn:
    """What one decision has changed so far, with what it takes to undo it."""

    __slots__ = ("changed", "removed", "undo", "control", "actions", "notices", "revive",
                 "undo_declined", "declined_added")

    def __init__(self) -> None:
        self.changed: dict[str, AgentRecord] = {}
        self.removed: list[str] = []
        self.undo: dict[str, AgentRecord | None] = {}
        self.control: RolloutControl | None = None
        self.actions: list[Action] = []
        self.notices: list[Notice] = []
        self.revive = False
        self.undo_declined: set[str] | None = None
        self.declined_added: set[str] = set()


class Engine:
    """Decides the rollout from records, events and the time it is given.

    `new_unique(now)` makes the last part of task ids; the default combines the time in
    milliseconds with a counter, which is unique within and across scheduler runs.
    """

    def __init__(
        self,
        plan: Plan,
        policy: Policy,
        agents: Iterable[AgentRecord] = (),
        control: RolloutControl | None = None,
        new_unique: Callable[[float], str] | None = None,
    ) -> None:
        self.plan = plan
        self.policy = policy
        self._control = control or RolloutControl()
        counter = itertools.count()
        self._new_unique = new_unique or (lambda now: f"{int(now * 1000)}-{next(counter)}")
        self._agents: dict[str, AgentRecord] = {}
        self._facts: dict[str, AgentFacts] = {}
        self._holders: set[str] = set()
        self._in_flight: set[str] = set()
        self._failed: set[str] = set()
        self._unfinished: set[str] = set()
        self._maintenance: set[str] = set()
        self._incomplete: set[str] = set()
        self._gone: set[str] = set()
        self._teardown_asked = False
        self._unconfirmed: dict[str, str] = {}
        self._reconcile_asked: dict[str, float] = {}
        # Live tasks not heard of since the latest subscription: each may have ended while
        # no scheduler was connected, its update still on its way (see `_wait`).
        self._unheard: set[str] = set()
        self._suppressed = False
        self._long_declined: set[str] = set()
        # Agents waiting for a restart slot or for room under the parallel cap.
        self._slot_line = Line(policy.max_concurrent_restarts)
        self._parallel_line = Line(policy.max_parallel)
        self._now: float | None = None
        self._last_offer_at: dict[str, float] = {}
        self._offer_notes: dict[str, str] = {}
        for agent in agents:
            self._set(agent)

    # -- read-only views ---------------------------------------------------------------

    @property
    def agents(self) -> Mapping[str, AgentRecord]:
        return MappingProxyType(self._agents)

    @property
    def control(self) -> RolloutControl:
        return self._control

    @property
    def suppressed(self) -> bool:
        return self._suppressed

    def facts(self, agent_id: str) -> AgentFacts:
        return self._facts[agent_id]

    def restart_slot_holders(self) -> frozenset[str]:
        return frozenset(self._holders)

    def halted(self) -> bool:
        return self.policy.is_halted(len(self._failed))

    @property
    def uninstalling(self) -> bool:
        return self._control.uninstalling

    def uninstall_complete(self) -> bool:
        """Uninstalling, and every agent that is not gone is uninstalled or skipped."""
        return self._control.uninstalling and not self._incomplete

    def after_removal(self) -> AfterRemoval:
        """What the scheduler does once the master removed its framework."""
        if not self._control.uninstalling:
            return AfterRemoval.REGISTER_AFRESH
        if self.uninstall_complete():
            return AfterRemoval.UNINSTALLED
        return AfterRemoval.FINISH_UNINSTALL

    def waiting_in_line(self) -> frozenset[str]:
        """Agents declined until about their turn for a restart slot or the parallel cap."""
        return self._slot_line.waiting() | self._parallel_line.waiting()

    def wants_offers(self) -> bool:
        if self._maintenance:
            return True
        return bool(self._unfinished) and not self._control.paused and not self.halted()

    def live_tasks(self) -> list[tuple[str, str]]:
        """(task id, agent id) of every task the records call live, for reconciliation."""
        return [
            (rec.task_id, agent.agent_id)
            for agent in self._agents.values()
            if agent.presence != PRESENCE_GONE
            for rec in agent.steps.values()
            if rec.task_id is not None and is_live(rec.task_state)
        ]

    def observations(self) -> Observations:
        return Observations(dict(self._last_offer_at), dict(self._offer_notes))

    def status_document(self, now: float, framework: Mapping[str, Any] | None = None) -> dict:
        return status_document(
            self.plan,
            self.policy,
            self._agents.values(),
            self._control,
            now,
            framework=framework,
            observations=self.observations(),
        )

    # -- deciding ----------------------------------------------------------------------

    def decide(self, event: Event, now: float) -> Decision:
        """Apply one event; the returned decision is already reflected in the engine."""
        tx = _Txn()
        self._now = now
        undo_control, undo_suppressed = self._control, self._suppressed
        undo_teardown_asked = self._teardown_asked
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise TypeError(f"not an engine event: {event!r}")
        handler(self, tx, event, now)
        self._settle_offers(tx, now)
        self._ask_teardown(tx)
        return Decision(
            records=tuple(tx.changed.values()),
            removed=tuple(tx.removed),
            control=tx.control,
            actions=tuple(tx.actions),
            notices=tuple(tx.notices),
            undo=tx.undo,
            undo_control=undo_control,
            undo_suppressed=undo_suppressed,
            undo_declined=tx.undo_declined,
            undo_declined_added=frozenset(tx.declined_added),
            undo_teardown_asked=undo_teardown_asked,
        )

    def rollback(self, decision: Decision) -> None:
        """Forget the latest decision (its records could not be stored).

        Restored: the records and every index over them, the control, suppression, the
        agents declined for long, the teardown request. Left as they are, on purpose:
        what this run observed of offers (`_last_offer_at`, `_offer_notes`: the offer came,
        stored or not), the tasks not heard of since the subscription (`_unheard`: at
        worst a few short declines), the pacing of reconciliation (`_reconcile_asked`: at worst one
        launch is reconciled a `launch_timeout_s` early or late) and the task-id counter
        (ids only need to stay unique)."""
        mode = self._control.uninstalling
        if decision.undo_control is not None:
            self._control = decision.undo_control
        for agent_id, old in decision.undo.items():
            if old is None:
                self._drop(agent_id)
            else:
                self._set(old)
        if self._control.uninstalling != mode:
            self._reindex()
        self._suppressed = decision.undo_suppressed
        self._teardown_asked = decision.undo_teardown_asked
        if decision.undo_declined is not None:
            self._long_declined = set(decision.undo_declined)
        self._long_declined -= decision.undo_declined_added

    # -- index maintenance -------------------------------------------------------------

    def _set(self, agent: AgentRecord) -> AgentFacts:
        agent_id = agent.agent_id
        old = self._facts.get(agent_id)
        if old is not None:
            for task_id in old.unconfirmed:
                self._unconfirmed.pop(task_id, None)
        facts_of = uninstall_facts if self._control.uninstalling else agent_facts
        facts = facts_of(self.plan, self.policy, agent)
        self._agents[agent_id] = agent
        self._facts[agent_id] = facts
        flags = (facts.holder, facts.in_flight, facts.halting, facts.unfinished, facts.maintenance,
                 facts.state not in (AGENT_COMPLETE, AGENT_GONE))
        for flag, index in zip(flags, self._indexes(), strict=True):
            if flag:
                index.add(agent_id)
            else:
                index.discard(agent_id)
        for task_id in facts.unconfirmed:
            self._unconfirmed[task_id] = agent_id
        if agent.presence == PRESENCE_GONE:
            self._gone.add(agent_id)
        else:
            self._gone.discard(agent_id)
        self._follow_lines(agent_id, old, facts)
        return facts

    def _follow_lines(self, agent_id: str, old: AgentFacts | None, new: AgentFacts | None
                      ) -> None:
        """An agent leaves a waiting line when it takes the capacity or has nothing to
        wait for any more."""
        for line, was, holds in (
                (self._slot_line, old is not None and old.holder,
                 new is not None and new.holder),
                (self._parallel_line, old is not None and old.in_flight,
                 new is not None and new.in_flight)):
            if holds and not was:
                line.took(agent_id, self._now)
            if new is None or not new.unfinished:
                line.forget(agent_id)

    def _drop(self, agent_id: str) -> None:
        facts = self._facts.pop(agent_id, None)
        self._agents.pop(agent_id, None)
        self._gone.discard(agent_id)
        self._last_offer_at.pop(agent_id, None)
        self._offer_notes.pop(agent_id, None)
        for index in self._indexes():
            index.discard(agent_id)
        for task_id in facts.unconfirmed if facts else ():
            self._unconfirmed.pop(task_id, None)
        self._follow_lines(agent_id, facts, None)

    def _indexes(self) -> tuple[set[str], ...]:
        """The agent-id sets kept per fact, in the order `_set` fills them."""
        return (self._holders, self._in_flight, self._failed, self._unfinished, self._maintenance,
                self._incomplete)

    def _reindex(self) -> None:
        """Derive every agent's facts afresh (the plan they follow changed)."""
        for agent in list(self._agents.values()):
            self._set(agent)

    def _put(self, tx: _Txn, agent: AgentRecord) -> AgentFacts:
        agent_id = agent.agent_id
        old = self._facts.get(agent_id)
        if agent_id not in tx.undo:
            tx.undo[agent_id] = self._agents.get(agent_id)
        tx.changed[agent_id] = agent
        facts = self._set(agent)
        if (
            facts.unfinished
            and (old is None or not old.unfinished)
            and agent_id in self._long_declined
        ):
            tx.revive = True
        return facts

    def _gates(self) -> Gates:
        return Gates(self._control.paused, self.halted(), self._holders, self._in_flight)

    def _settle_offers(self, tx: _Txn, now: float) -> None:
        wants = self.wants_offers()
        # Capacity frees, and agents leave a line, only with a changed record.
        idles = bool(tx.changed) and self._capacity_idles(now)
        if wants and (self._suppressed or tx.revive or idles):
            tx.actions.append(Revive())
            self._suppressed = False
            if tx.undo_declined is None:
                tx.undo_declined = set(self._long_declined)
            self._long_declined.clear()
            for line in (self._slot_line, self._parallel_line):
                line.filters_cleared()
        elif not wants and not self._suppressed:
            tx.actions.append(Suppress())
            self._suppressed = True

    def _capacity_idles(self, now: float) -> bool:
        """A capacity is free and agents wait for it, but none of them will be offered
        soon (their turn came sooner than estimated): only a REVIVE brings them now."""
        shortest = self.policy.refuse_wait_s
        for line, users in ((self._slot_line, self._holders),
                            (self._parallel_line, self._in_flight)):
            if not line or len(users) >= line.capacity:
                continue
            offered_at = line.next_offer_at()
            if (offered_at is not None and offered_at > now + max(shortest,
                                                                  line.interval(shortest))
                    and not self._control.paused and not self.halted()):
                return True
        return False

    def _ask_teardown(self, tx: _Txn) -> None:
        if self.uninstall_complete() and not self._teardown_asked:
            self._teardown_asked = True
            tx.actions.append(Teardown())
            tx.notices.append(Notice("uninstall complete on every agent: tearing the "
                                     "framework down"))

    # -- offers ------------------------------------------------------------------------

    def _on_offers(self, tx: _Txn, event: Offers, now: float) -> None:
        by_agent: dict[str, list[Offer]] = {}
        for offer in event.offers:
            by_agent.setdefault(offer.agent_id, []).append(offer)
        gates = self._gates()
        for offers in by_agent.values():
            self._offer_agent(tx, offers, gates, now)

    def _offer_agent(self, tx: _Txn, offers: list[Offer], gates: Gates, now: float) -> None:
        first = offers[0]
        agent_id = first.agent_id
        agent = self._agents.get(agent_id)
        if agent is None:
            info = AgentInfo(agent_id, first.hostname, first.agent_role)
            agent = self._join(tx, info, now)
        elif agent.presence != PRESENCE_ACTIVE:
            agent = self._reactivate(tx, agent, now)
        self._last_offer_at[agent_id] = now
        facts = self._facts[agent_id]
        if facts.idle:
            self._decline_for_long(tx, agent_id, offers)
            return
        if self._control.uninstalling:
            self._offer_uninstall(tx, agent, facts, offers, gates, now)
            return
        block = blocker(self.plan, self.policy, agent, facts, gates, now)
        if block is not None:
            self._wait(tx, block, agent_id, offers, now)
            return
        spec = self.plan.steps[facts.current]
        rec = agent.step(spec.name)
        if facts.phase is Phase.STALE:
            tx.actions.append(Kill(rec.task_id, agent_id))
            message = "killing the task of an outdated configuration"
            self._put(tx, agent.with_step(spec.name, kill_requested(rec, now, message)))
            tx.notices.append(Notice(f"kill {rec.task_id}: config changed", agent_id, spec.name))
            self._decline(tx, offers, self.policy.refuse_wait_s)
            return
        self._launch_on(tx, agent, spec, offers, now)

    def _launch_on(self, tx: _Txn, agent: AgentRecord, spec: StepSpec, offers: list[Offer],
                   now: float) -> None:
        """Launch `spec` on the first offer that fits it; decline the rest."""
        for index, offer in enumerate(offers):
            role = _fitting_role(offer, spec)
            if role is not None:
                self._launch(tx, agent, spec, offer, role, now)
                self._decline(tx, offers[:index] + offers[index + 1 :], self.policy.refuse_wait_s)
                return
        self._offer_notes[agent.agent_id] = shortfall(spec, offers)
        self._decline(tx, offers, self.policy.refuse_wait_s)

    def _wait(self, tx: _Txn, block: Blocker, agent_id: str, offers: list[Offer],
              now: float) -> None:
        """Decline the offers of an agent that must wait, for as long as it will wait."""
        if block.kind is Block.KILLING and block.record.task_id is not None:
            # A kill can be lost (the agent was unreachable); repeating it is harmless.
            tx.actions.append(Kill(block.record.task_id, agent_id))
        line = (self._slot_line if block.kind is Block.BUDGET else
                self._parallel_line if block.kind is Block.PARALLEL_CAP else None)
        if line is not None:
            # Waiting for capacity concerns most agents at scale: decline until about
            # when the agent's turn may come (see lines.py).
            policy = self.policy
            self._decline(tx, offers, line.refusal(agent_id, now, policy.refuse_wait_s,
                                                   policy.refuse_idle_s))
            return
        if (block.kind is Block.BUSY and _returns_resources(block.step, block.record)
                and block.record.task_id not in self._unheard):
            # The task's end returns its resources, and a master offers an agent whose
            # free resources grew beyond what was refused whatever the filter's age
            # (apache/mesos 1.4.3 and 1.8.1, src/master/allocator/mesos/hierarchical.cpp
            # `RefusedOfferFilter::filter`: refused resources must contain the offer).
            # Not for a task unheard of since this subscription: it may have ended while
            # no scheduler was connected, so the offer already holds its resources (the
            # master frees them when the agent reports the end, src/master/master.cpp
            # `Master::updateTask`), while its update waits for the agent's next retry or
            # for the reconciliation answer; such a filter would not lift. The update of
            # an end can also wait behind an older unacknowledged one of the same task
            # (the agent keeps one update in flight per task, src/slave/
            # task_status_update_manager.cpp), so even this filter is bounded.
            self._decline(tx, offers, self.policy.refuse_busy_s)
            return
        until = block.record.backoff_until if block.kind is Block.BACKOFF else None
        self._decline(tx, offers, self.policy.wait_refuse_s(now, until))

    def _offer_uninstall(self, tx: _Txn, agent: AgentRecord, facts: AgentFacts,
                         offers: list[Offer], gates: Gates, now: float) -> None:
        """The agent's next uninstall stage: stop a task, or launch the uninstall step."""
        agent_id = agent.agent_id
        block = uninstall_blocker(self.plan, self.policy, agent, facts, gates, now)
        if block is not None:
            self._wait(tx, block, agent_id, offers, now)
            return
        stage = Stage(facts.current)
        if stage is Stage.UNINSTALL:
            self._launch_on(tx, agent, self.plan.uninstall, offers, now)
            return
        name = STAGE_STEPS[stage]
        rec = stage_record(agent, stage)
        tx.actions.append(Kill(rec.task_id, agent_id))
        agent = agent.with_step(name, kill_requested(rec, now, "stopped for the uninstall"))
        if name == STEP_CALICO_NODE:
            # The agent's uninstall begins here: it holds a restart slot from now on.
            began = uninstall_began(agent.step(STEP_UNINSTALL), now)
            agent = agent.with_step(STEP_UNINSTALL, began)
        self._put(tx, agent)
        tx.notices.append(Notice(f"kill {rec.task_id}: uninstalling", agent_id, name))
        self._decline(tx, offers, self.policy.refuse_wait_s)

    def _launch(
        self, tx: _Txn, agent: AgentRecord, spec: StepSpec, offer: Offer, role: str, now: float
    ) -> None:
        agent_id = agent.agent_id
        task_id = make_task_id(spec.name, agent_id, self._new_unique(now))
        rec = launched(spec, agent.step(spec.name), task_id, now)
        self._put(tx, agent.with_step(spec.name, rec))
        self._offer_notes.pop(agent_id, None)
        tx.actions.append(
            Launch(
                offer.offer_id,
                agent_id,
                task_id,
                spec.name,
                role,
                spec.cpus,
                spec.mem,
                spec.target_hash,
                # A one-shot task returns its resources when it ends, which brings the
                # agent's next offer (see `_wait`), but not for long: once a long-running
                # task takes resources again, the agent's free resources fit inside the
                # refused ones, which the filter holds back whatever the step waiting
                # (apache/mesos 1.4.3 and 1.8.1 src/master/allocator/mesos/hierarchical.cpp
                # `RefusedOfferFilter::filter`). A long-running task keeps its resources.
                self.policy.refuse_wait_s if spec.long_running else self.policy.refuse_busy_s,
                allow_restart=rec.restart_allowed,
            )
        )
        tx.notices.append(Notice(f"launch {task_id} (attempt {rec.attempts})", agent_id, spec.name))

    def _decline_for_long(self, tx: _Txn, agent_id: str, offers: list[Offer]) -> None:
        """Decline for `refuse_idle_s`, remembering the agent: it is revived when it gets
        work (see `_put`)."""
        if agent_id not in self._long_declined:
            self._long_declined.add(agent_id)
            tx.declined_added.add(agent_id)
        self._decline(tx, offers, self.policy.refuse_idle_s)

    @staticmethod
    def _decline(tx: _Txn, offers: list[Offer], refuse_seconds: float) -> None:
        tx.actions.extend(Decline(offer.offer_id, refuse_seconds) for offer in offers)

    # -- task status -------------------------------------------------------------------

    def _on_status(self, tx: _Txn, event: TaskStatus, now: float) -> None:
        try:
            step, agent_id = parse_task_id(event.task_id)
        except TaskIdError:
            tx.notices.append(Notice(f"ignored update for foreign task {event.task_id!r}"))
            return
        if event.state not in KNOWN_STATES or event.state == LAUNCHED:
            tx.notices.append(Notice(f"ignored unknown task state {event.state!r}", agent_id))
            return
        self._unheard.discard(event.task_id)
        self._presence_from_status(tx, agent_id, event, now)
        # A task reported running somewhere; an unreachable one cannot be killed (the
        # master answers a kill of it with reconciliation).
        live_update = is_live(event.state) and event.state != TASK_UNREACHABLE
        agent = self._agents.get(agent_id)
        spec = self.plan.spec(step)
        rec = agent.step(step) if agent is not None else None
        if agent is None or spec is None or rec is None or rec.task_id != event.task_id:
            if live_update:
                tx.actions.append(Kill(event.task_id, agent_id))
                tx.notices.append(Notice(f"kill unexpected task {event.task_id}", agent_id, step))
            return
        if rec.task_state in TERMINAL_STATES:
            if live_update and rec.task_state in INFERRED_TERMINAL_STATES:
                tx.actions.append(Kill(event.task_id, agent_id))
            return
        if rank(event.state) < rank(rec.task_state or LAUNCHED):
            return
        if event.state == rec.task_state and event.healthy in (None, rec.healthy):
            return
        new, outcome = step_updated(
            spec,
            rec,
            self.policy.retry,
            event.state,
            event.message,
            event.reason,
            event.healthy,
            now,
            event.address,
        )
        self._put(tx, agent.with_step(step, new))
        self._reconcile_asked.pop(event.task_id, None)
        what = event.state if outcome is None else f"{event.state} ({outcome.value})"
        tx.notices.append(Notice(f"{event.task_id}: {what}", agent_id, step))

    def _on_report(self, tx: _Txn, event: TaskReported, now: float) -> None:
        """Keep the installer's account with the task it describes; its reason replaces
        Mesos's "Command exited with status N" as the task's message."""
        try:
            step, agent_id = parse_task_id(event.task_id)
        except TaskIdError:
            return
        agent = self._agents.get(agent_id)
        rec = agent.steps.get(step) if agent is not None else None
        if agent is None or rec is None:
            return
        report = event.report
        if rec.task_id == event.task_id:
            if rec.report == report or rec.task_state not in TERMINAL_STATES:
                return
            new = dataclasses.replace(rec, report=report, message=report.message)
            if report.status == NEEDS_RESTART_STATUS and rec.restart_hash == rec.task_hash:
                new = dataclasses.replace(new, restart_reason=_reason_line(report.message))
        else:
            index = next((i for i, past in enumerate(rec.history)
                          if past.task_id == event.task_id), None)
            if index is None or rec.history[index].report == report:
                return
            history = list(rec.history)
            history[index] = dataclasses.replace(history[index], report=report,
                                                 message=report.message)
            new = dataclasses.replace(rec, history=tuple(history))
            if report.status == NEEDS_RESTART_STATUS and rec.restart_hash == rec.task_hash \
                    and rec.restart_reason is None:
                # read after the relaunch it caused: still this target's reason
                new = dataclasses.replace(new, restart_reason=_reason_line(report.message))
        self._put(tx, agent.with_step(step, new))
        if report.status == "failed":
            tx.notices.append(Notice(f"{event.task_id}: {report.message}", agent_id, step))

    # -- agents ------------------------------------------------------------------------

    def _join(self, tx: _Txn, info: AgentInfo, now: float) -> AgentRecord:
        agent = AgentRecord(info.agent_id, info.hostname, info.role, PRESENCE_ACTIVE, now)
        self._put(tx, agent)
        tx.notices.append(Notice(f"agent {info.hostname} joined", info.agent_id))
        return agent

    def _reactivate(self, tx: _Txn, agent: AgentRecord, now: float) -> AgentRecord:
        agent = dataclasses.replace(agent, presence=PRESENCE_ACTIVE, presence_since=now)
        self._put(tx, agent)
        tx.notices.append(Notice(f"agent {agent.hostname} is back", agent.agent_id))
        # Mesos 1.4 re-adds the tasks of a returning agent without a word (1.5+ forwards
        # their states): ask for them.
        live = tuple((rec.task_id, agent.agent_id) for rec in agent.steps.values()
                     if rec.task_id is not None and is_live(rec.task_state))
        if live:
            tx.actions.append(Reconcile(live))
        return agent

    def _seen(self, tx: _Txn, info: AgentInfo, now: float) -> None:
        agent = self._agents.get(info.agent_id)
        if agent is None:
            agent = self._join(tx, info, now)
        elif info.reachable and not info.recovering and agent.presence != PRESENCE_ACTIVE:
            agent = self._reactivate(tx, agent, now)
        if (agent.hostname, agent.role) != (info.hostname, info.role):
            agent = dataclasses.replace(agent, hostname=info.hostname, role=info.role)
            self._put(tx, agent)
        if not info.reachable:
            self._mark(tx, info.agent_id, PRESENCE_UNREACHABLE, now)

    def _mark(self, tx: _Txn, agent_id: str, presence: str, now: float) -> None:
        agent = self._agents.get(agent_id)
        if agent is None or agent.presence == presence:
            return
        if presence == PRESENCE_UNREACHABLE and agent.presence == PRESENCE_GONE:
            return
        self._put(tx, dataclasses.replace(agent, presence=presence, presence_since=now))
        self._offer_notes.pop(agent_id, None)
        tx.notices.append(Notice(f"agent {agent.hostname} is {presence}", agent_id))

    def _on_seen(self, tx: _Txn, event: AgentSeen, now: float) -> None:
        self._seen(tx, event.agent, now)

    def _on_listed(self, tx: _Txn, event: AgentsListed, now: float) -> None:
        """The master lists registered and recovering agents only: one missing from the
        list may be unreachable or gone for good, which only reconciliation tells apart
        (see `_probe`). Until then it counts as unreachable and keeps its slot."""
        listed = set()
        for info in event.agents:
            listed.add(info.agent_id)
            self._seen(tx, info, now)
        probes = []
        for agent in [a for a in self._agents.values() if a.agent_id not in listed]:
            if agent.presence == PRESENCE_GONE:
                continue
            self._mark(tx, agent.agent_id, PRESENCE_UNREACHABLE, now)
            probe = self._probe(agent)
            if probe is not None:
                probes.append(probe)
        if probes:
            tx.actions.append(Reconcile(tuple(probes)))

    def _probe(self, agent: AgentRecord) -> tuple[str, str] | None:
        """A (task id, agent id) whose reconciliation says what the master knows of the
        agent: TASK_UNREACHABLE while unreachable, TASK_GONE_BY_OPERATOR once marked gone,
        TASK_UNKNOWN once it knows no such agent (removed, or dropped from the registry).
        The agent's latest task, else an id of the task id contract no task carries."""
        tasks = [(rec.launched_at or 0.0, index, rec.task_id)
                 for index, spec in enumerate(self.plan.steps)
                 if (rec := agent.step(spec.name)).task_id is not None]
        if tasks:
            return max(tasks)[2], agent.agent_id
        if not self.plan.steps:
            return None
        return make_task_id(self.plan.steps[0].name, agent.agent_id, PROBE), agent.agent_id

    def _presence_from_status(self, tx: _Txn, agent_id: str, event: TaskStatus,
                              now: float) -> None:
        """What a task's state says of its agent: TASK_GONE_BY_OPERATOR, gone for good;
        TASK_UNREACHABLE, unreachable; TASK_UNKNOWN answering reconciliation for an agent
        missing from the master's list, gone (the master knows no such agent)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return
        if event.state == TASK_GONE_BY_OPERATOR or (
                event.state == TASK_UNKNOWN and event.reason == REASON_RECONCILIATION
                and agent.presence == PRESENCE_UNREACHABLE):
            self._mark(tx, agent_id, PRESENCE_GONE, now)
        elif event.state == TASK_UNREACHABLE and agent.presence == PRESENCE_ACTIVE:
            self._mark(tx, agent_id, PRESENCE_UNREACHABLE, now)

    def _on_unreachable(self, tx: _Txn, event: AgentUnreachable, now: float) -> None:
        self._mark(tx, event.agent_id, PRESENCE_UNREACHABLE, now)

    def _on_removed(self, tx: _Txn, event: AgentRemoved, now: float) -> None:
        self._mark(tx, event.agent_id, PRESENCE_GONE, now)

    # -- operators ---------------------------------------------------------------------

    def _on_pause(self, tx: _Txn, event: Pause, now: float) -> None:
        if not self._control.paused:
            self._set_control(tx, True, event, now)

    def _on_resume(self, tx: _Txn, event: Resume, now: float) -> None:
        if self._control.paused:
            self._set_control(tx, False, event, now)

    def _set_control(self, tx: _Txn, paused: bool, event: Pause | Resume, now: float) -> None:
        self._control = tx.control = dataclasses.replace(
            self._control, paused=paused, by=event.by, at=now, why=event.why)
        what = "uninstall" if self._control.uninstalling else "rollout"
        verb = "paused" if paused else "resumed"
        tx.notices.append(Notice(f"{what} {verb}: {event.why}", by=event.by))

    def _on_uninstall(self, tx: _Txn, event: Uninstall, now: float) -> None:
        if self._control.uninstalling:
            return
        note = OperatorNote("uninstall", event.by, now, event.why)
        self._control = tx.control = dataclasses.replace(self._control, uninstall=note)
        self._reindex()
        tx.revive = True  # agents declined for long have uninstall work now
        tx.notices.append(Notice(f"uninstall requested: {event.why}", by=event.by))

    def _operate(self, tx: _Txn, event: RetryAgent | SkipAgent, now: float) -> None:
        agent = self._agents.get(event.agent_id)
        if agent is None:
            raise UnknownAgentError(event.agent_id)
        retry = isinstance(event, RetryAgent)
        steps = dict(agent.steps)
        specs = (self.plan.uninstall,) if self._control.uninstalling else self.plan.steps
        for spec in specs:
            rec = agent.step(spec.name)
            # A retry verifies a verified agent again; it redoes no other finished step.
            again = retry and spec.observing
            if phase_of(spec, rec, self.policy.retry) in SATISFIED and not again:
                continue
            if retry:
                if is_live(rec.task_state) and rec.task_id is not None:
                    tx.actions.append(Kill(rec.task_id, agent.agent_id))
                steps[spec.name] = retried(rec, now, again=again)
            else:
                steps[spec.name] = skipped(spec, rec, now)
        action = "retry" if retry else "skip"
        note = OperatorNote(action, event.by, now, event.why)
        self._put(tx, dataclasses.replace(agent, steps=steps, note=note))
        tx.notices.append(Notice(f"{action}: {event.why}", agent.agent_id, by=event.by))

    # -- lifecycle ---------------------------------------------------------------------

    def _on_subscribed(self, tx: _Txn, event: Subscribed, now: float) -> None:
        live = tuple(self.live_tasks())
        self._unheard = {task_id for task_id, _ in live}
        if live:
            tx.actions.append(Reconcile(live))
        tx.actions.append(Reconcile())
        self._suppressed = False
        self._teardown_asked = False  # a teardown not yet done is asked again
        tx.revive = True

    def _on_tick(self, tx: _Txn, event: Tick, now: float) -> None:
        timeout = self.policy.launch_timeout_s
        overdue = []
        for task_id, agent_id in self._unconfirmed.items():
            rec = self._agents[agent_id].step(parse_task_id(task_id)[0])
            asked = self._reconcile_asked.get(task_id, rec.launched_at or now)
            if now - asked >= timeout:
                overdue.append((task_id, agent_id))
                self._reconcile_asked[task_id] = now
        if overdue:
            tx.actions.append(Reconcile(tuple(overdue)))
        retention = self.policy.gone_retention_s
        expired = [agent for agent in map(self._agents.__getitem__, self._gone)
                   if agent.presence_since is not None
                   and now - agent.presence_since >= retention]
        for agent in expired:
            self._forget(tx, agent, now)

    def _forget(self, tx: _Txn, agent: AgentRecord, now: float) -> None:
        """Remove the record of an agent gone for longer than the retention period; the
        event log keeps the account. Should it come back, it joins as a new agent."""
        agent_id = agent.agent_id
        if agent_id not in tx.undo:
            tx.undo[agent_id] = agent
        tx.changed.pop(agent_id, None)
        self._drop(agent_id)
        tx.removed.append(agent_id)
        days = (now - (agent.presence_since or now)) / 86400.0
        tx.notices.append(Notice(f"forgot agent {agent.hostname}: gone for {days:.1f} days "
                                 f"(kept {self.policy.gone_retention_s / 86400.0:g} days)",
                                 agent_id))


_HANDLERS: dict[type, Callable[[Engine, _Txn, Any, float], None]] = {
    Offers: Engine._on_offers,
    TaskStatus: Engine._on_status,
    TaskReported: Engine._on_report,
    AgentSeen: Engine._on_seen,
    AgentsListed: Engine._on_listed,
    AgentUnreachable: Engine._on_unreachable,
    AgentRemoved: Engine._on_removed,
    Pause: Engine._on_pause,
    Resume: Engine._on_resume,
    RetryAgent: Engine._operate,
    SkipAgent: Engine._operate,
    Uninstall: Engine._on_uninstall,
    Subscribed: Engine._on_subscribed,
    Tick: Engine._on_tick,
}


def _returns_resources(spec: StepSpec | None, rec: StepRecord | None) -> bool:
    """The agent's task is a one-shot task the master confirmed: its end frees resources."""
    return (spec is not None and not spec.long_running and rec is not None
            and rec.task_state not in (None, LAUNCHED))


def _reason_line(message: str) -> str:
    """The installer's reason without its "needs a restart of <unit>: " prefix."""
    head, sep, reason = message.partition(": ")
    return reason if sep and head.startswith("needs a restart") else message


def _fitting_role(offer: Offer, spec: StepSpec) -> str | None:
    for res in offer.resources:
        if res.cpus + RESOURCE_EPSILON >= spec.cpus and res.mem + RESOURCE_EPSILON >= spec.mem:
            return res.role
    return None
