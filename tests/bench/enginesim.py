"""A whole rollout of the pure engine against a simulated Mesos master, on a simulated clock.

The simulation follows the master emulator's offer mechanics so the engine sees the offers
it would see in production: one OFFERS event per allocation cycle holding every agent that
is not filtered, DECLINE filters for `refuse_seconds` per agent, the scheduler's filter on
the unused part of an accepted offer, SUPPRESS stops offers and REVIVE clears every
filter, and a task's end lifts the filters of its agent (its free resources grew beyond
what they refused). Tasks report TASK_STARTING, TASK_RUNNING, then TASK_FINISHED (one-shot) or a
healthy TASK_RUNNING (long-running) after their step's duration.

Only `Engine.decide` is timed (CPU time of this process); the simulation's own bookkeeping
is not part of any figure.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from framework.config import load
from framework.engine import (
    PUBLIC_MESOS_ROLE,
    AgentInfo,
    AgentRecord,
    AgentsListed,
    Decline,
    Engine,
    Event,
    Kill,
    Launch,
    Offer,
    Offers,
    Plan,
    Policy,
    Revive,
    RoleResources,
    Subscribed,
    Suppress,
    TaskStatus,
)
from framework.engine.plan import LONG_RUNNING_STEPS
from framework.engine.progress import AGENT_COMPLETE
from framework.engine.tasks import TERMINAL_STATES
from framework.engine_setup import engine_plan, engine_policy

START_TIME = 1_764_000_000.0
ALLOCATION_INTERVAL_S = 1.0
TASK_START_S = 0.2
STATUS_GAP_S = 0.05
# Simulated seconds from TASK_RUNNING to done, per step (close to what the dev cluster shows).
STEP_DURATIONS_S: Mapping[str, float] = {
    "etcd-proxy": 1.0, "docker": 2.0, "cni": 3.0, "calico-node": 1.5, "verify": 1.0}
AGENT_CPUS = 4.0
AGENT_MEM = 14021.0
PUBLIC_EVERY = 10
MAX_SIMULATED_S = 10 * 24 * 3600.0


class SimulationError(RuntimeError):
    """The simulated rollout did not converge."""


@dataclass(frozen=True)
class SimResult:
    agents: int
    budget: int
    max_parallel: int
    engine_cpu_s: float
    offer_cpu_s: float
    offers: int
    decisions: int
    simulated_s: float
    records: tuple[AgentRecord, ...]
    mid_records: tuple[AgentRecord, ...]

    @property
    def offers_per_min(self) -> float:
        """Offers the simulated master made a minute, over the whole rollout."""
        return self.offers * 60.0 / self.simulated_s if self.simulated_s > 0 else 0.0

    @property
    def offer_decisions_per_s(self) -> float:
        return self.offers / self.offer_cpu_s if self.offer_cpu_s > 0 else float("inf")


@dataclass
class _Clocked:
    """The timed engine: every decide() adds its CPU time to a counter."""

    engine: Engine
    cpu_s: float = 0.0
    offer_cpu_s: float = 0.0
    decisions: int = 0
    complete: set[str] = field(default_factory=set)

    def decide(self, event: Event, now: float):
        started = time.process_time()
        decision = self.engine.decide(event, now)
        spent = time.process_time() - started
        self.cpu_s += spent
        self.decisions += 1
        if isinstance(event, Offers):
            self.offer_cpu_s += spent
        for record in decision.records:
            if self.engine.facts(record.agent_id).state == AGENT_COMPLETE:
                self.complete.add(record.agent_id)
            else:
                self.complete.discard(record.agent_id)
        return decision


def bench_plan_policy(budget: int, env: Mapping[str, str] | None = None) -> tuple[Plan, Policy]:
    """The plan and policy the scheduler would build from its default config with `budget`."""
    config = load([], {"CALICO_MAX_CONCURRENT_RESTARTS": str(budget), **(env or {})})
    return engine_plan(config), engine_policy(config)


def agent_infos(count: int) -> tuple[AgentInfo, ...]:
    """`count` agents, every tenth public, with host names that sort in index order."""
    return tuple(
        AgentInfo(f"bench-S{index}", f"agent-{index:05d}.bench",
                  "public" if index % PUBLIC_EVERY == PUBLIC_EVERY - 1 else "private")
        for index in range(count))


@dataclass
class _Master:
    """Offer filters, suppression and pending task updates of the simulated master."""

    infos: Mapping[str, AgentInfo]
    now: float = START_TIME
    suppressed: bool = False
    filtered_until: dict[str, float] = field(default_factory=dict)
    updates: list = field(default_factory=list)
    task_agents: dict[str, str] = field(default_factory=dict)
    seq: Callable[[], int] = field(default_factory=lambda: itertools.count().__next__)

    def due_offers(self) -> tuple[Offer, ...]:
        if self.suppressed:
            return ()
        offers = []
        for agent_id, info in self.infos.items():
            if self.filtered_until.get(agent_id, 0.0) <= self.now:
                role = PUBLIC_MESOS_ROLE if info.role == "public" else "*"
                offers.append(Offer(f"O{self.seq()}", agent_id, info.hostname,
                                    (RoleResources(role, AGENT_CPUS, AGENT_MEM),),
                                    public=info.role == "public"))
        return tuple(offers)

    def deliver(self, status: TaskStatus) -> TaskStatus:
        """A task that ended returned its resources: the agent's free resources are no
        longer contained in what any earlier filter refused, which no longer applies
        (hierarchical.cpp `RefusedOfferFilter::filter`)."""
        if status.state in TERMINAL_STATES:
            agent_id = self.task_agents.pop(status.task_id, None)
            if agent_id is not None:
                self.filtered_until.pop(agent_id, None)
        return status

    def later(self, delay_s: float, status: TaskStatus) -> None:
        heapq.heappush(self.updates, (self.now + delay_s, self.seq(), status))

    def apply(self, actions, offers: Mapping[str, str]) -> None:
        for action in actions:
            match action:
                case Launch():
                    self.filtered_until[action.agent_id] = self.now + action.refuse_seconds
                    self._run(action)
                case Decline():
                    agent_id = offers[action.offer_id]
                    self.filtered_until[agent_id] = self.now + action.refuse_seconds
                case Kill():
                    self.later(STATUS_GAP_S, TaskStatus(action.task_id, "TASK_KILLED"))
                case Suppress():
                    self.suppressed = True
                case Revive():
                    self.suppressed = False
                    self.filtered_until.clear()

    def _run(self, launch: Launch) -> None:
        task_id = launch.task_id
        self.task_agents[task_id] = launch.agent_id
        self.later(STATUS_GAP_S, TaskStatus(task_id, "TASK_STARTING"))
        self.later(TASK_START_S, TaskStatus(task_id, "TASK_RUNNING"))
        done_s = TASK_START_S + STEP_DURATIONS_S[launch.step]
        if launch.step in LONG_RUNNING_STEPS:
            self.later(done_s, TaskStatus(task_id, "TASK_RUNNING", healthy=True))
        else:
            self.later(done_s, TaskStatus(task_id, "TASK_FINISHED"))


def simulate_rollout(agents: int, budget: int, max_parallel: int) -> SimResult:
    """Roll the default plan out to `agents` agents with `budget` restart slots and at most
    `max_parallel` agents in a non-disruptive step."""
    plan, policy = bench_plan_policy(budget, {"CALICO_MAX_PARALLEL_TASKS": str(max_parallel)})
    infos = agent_infos(agents)
    master = _Master({info.agent_id: info for info in infos})
    clocked = _Clocked(Engine(plan, policy))
    offers_made = 0
    mid_records: tuple[AgentRecord, ...] = ()
    for event in (Subscribed(), AgentsListed(infos)):
        master.apply(clocked.decide(event, master.now).actions, {})
    next_allocation = master.now + ALLOCATION_INTERVAL_S
    while True:
        complete = len(clocked.complete)
        if not mid_records and complete >= agents // 2:
            mid_records = tuple(clocked.engine.agents.values())
        if complete == agents:
            break
        if master.now - START_TIME > MAX_SIMULATED_S:
            raise SimulationError(f"{complete} of {agents} agents complete after "
                                  f"{MAX_SIMULATED_S:.0f} simulated seconds")
        if master.updates and master.updates[0][0] <= next_allocation:
            at, _, status = heapq.heappop(master.updates)
            master.now = max(master.now, at)
            master.apply(clocked.decide(master.deliver(status), master.now).actions, {})
            continue
        master.now = next_allocation
        next_allocation += ALLOCATION_INTERVAL_S
        offers = master.due_offers()
        if offers:
            offers_made += len(offers)
            by_id = {offer.offer_id: offer.agent_id for offer in offers}
            master.apply(clocked.decide(Offers(offers), master.now).actions, by_id)
    return SimResult(
        agents=agents, budget=budget, max_parallel=max_parallel, engine_cpu_s=clocked.cpu_s,
        offer_cpu_s=clocked.offer_cpu_s, offers=offers_made, decisions=clocked.decisions,
        simulated_s=master.now - START_TIME,
        records=tuple(clocked.engine.agents.values()), mid_records=mid_records)

