"""Builders and a small driver shared by the engine tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from framework.engine import (
    STEP_ORDER,
    AgentInfo,
    AgentSeen,
    Decision,
    Decline,
    Engine,
    Event,
    Kill,
    Launch,
    Offer,
    Offers,
    Plan,
    Policy,
    RoleResources,
    StepSpec,
    TaskStatus,
)
from framework.engine.plan import DISRUPTIVE_STEPS, LONG_RUNNING_STEPS

CPUS = 0.1
MEM = 64.0
FAST_RETRY_POLICY = dict(backoff_base_s=1.0, backoff_cap_s=8.0)


def make_plan(
    steps: Iterable[str] = STEP_ORDER, version: str = "v1", cpus: float = CPUS, mem: float = MEM,
    **hashes: str,
) -> Plan:
    """A plan of `steps`; every hash is `<step>-<version>` unless given by keyword
    (underscores stand for dashes: calico_node="x")."""
    given = {k.replace("_", "-"): v for k, v in hashes.items()}
    return Plan(
        tuple(StepSpec(s, given.get(s, f"{s}-{version}"), cpus, mem) for s in steps)
    )


def offer(
    agent_id: str,
    *roles: tuple[str, float, float],
    hostname: str | None = None,
    offer_id: str | None = None,
    public: bool = False,
) -> Offer:
    resources = tuple(RoleResources(*r) for r in roles) or (RoleResources("*", 4.0, 4096.0),)
    return Offer(offer_id or f"offer-{next(_offer_ids)}", agent_id, hostname or agent_id,
                 resources, public)


_offer_ids = itertools.count()


def of_type(decision: Decision, kind: type) -> list:
    return [a for a in decision.actions if isinstance(a, kind)]


class Driver:
    """An engine plus a clock, with shorthands for the events tests send most."""

    def __init__(
        self,
        plan: Plan | None = None,
        policy: Policy | None = None,
        agents: Iterable[str] = (),
        now: float = 1000.0,
        needs_restart: bool = True,
        **engine_kwargs,
    ) -> None:
        """`needs_restart`: every host needs a restart for its disruptive steps, so their
        first (live) run exits 76 and the step is relaunched holding a restart slot; False:
        every host takes the changes live."""
        self.needs_restart = needs_restart
        self.plan = plan or make_plan()
        self.engine = Engine(self.plan, policy or Policy(), **engine_kwargs)
        self.now = now
        for agent_id in agents:
            self.send(AgentSeen(AgentInfo(agent_id, f"{agent_id}.example")))

    def send(self, event: Event, advance: float = 0.0) -> Decision:
        self.now += advance
        return self.engine.decide(event, self.now)

    def offer(self, agent_id: str, *roles: tuple[str, float, float],
              advance: float = 0.0) -> Decision:
        return self.send(Offers((offer(agent_id, *roles, hostname=f"{agent_id}.example"),)),
                         advance)

    def launch(self, agent_id: str, advance: float = 0.0) -> Launch | None:
        launches = of_type(self.offer(agent_id, advance=advance), Launch)
        if launches and self.refused_live(launches[0]):
            return self.launch(agent_id)
        return launches[0] if launches else None

    def refused_live(self, launch: Launch) -> bool:
        """A live run of a disruptive step on a host that needs a restart: it exits 76."""
        if not self.needs_restart or launch.allow_restart or launch.step not in DISRUPTIVE_STEPS:
            return False
        self.status(launch.task_id, "TASK_FAILED", message="Command exited with status 76")
        return True

    def status(self, task_id: str, state: str, advance: float = 0.0, **kwargs) -> Decision:
        return self.send(TaskStatus(task_id, state, **kwargs), advance)

    def succeed(self, launch: Launch) -> Decision:
        """Report the natural success of a launched task."""
        if launch.step in LONG_RUNNING_STEPS:
            return self.status(launch.task_id, "TASK_RUNNING")
        return self.status(launch.task_id, "TASK_FINISHED")

    def complete_agent(self, agent_id: str, limit: int = 20) -> list[Launch]:
        """Offer to the agent and succeed each launch until it has nothing left to do."""
        done = []
        for _ in range(limit):
            decision = self.offer(agent_id)
            launches = of_type(decision, Launch)
            if not launches:
                if of_type(decision, Kill):
                    for kill in of_type(decision, Kill):
                        self.status(kill.task_id, "TASK_KILLED")
                    continue
                return done
            for launch in launches:
                if not self.refused_live(launch):
                    self.succeed(launch)
                    done.append(launch)
        raise AssertionError(f"{agent_id} did not settle within {limit} offers")

    def state(self, agent_id: str) -> str:
        return self.engine.facts(agent_id).state

    def agent_doc(self, agent_id: str) -> dict:
        doc = self.engine.status_document(self.now)
        return next(a for a in doc["agents"] if a["id"] == agent_id)

    def reason(self, agent_id: str) -> str | None:
        return self.agent_doc(agent_id)["waiting_reason"]


def refuse_seconds(decision: Decision) -> list[float]:
    return [d.refuse_seconds for d in of_type(decision, Decline)]


def launch_step(driver: Driver, agent_id: str, step: str, limit: int = 10) -> Launch:
    """Offer to the agent, succeeding earlier steps, until `step` is launched."""
    for _ in range(limit):
        launch = driver.launch(agent_id)
        if launch is None:
            raise AssertionError(f"{agent_id}: no launch while heading for {step}")
        if launch.step == step:
            return launch
        driver.succeed(launch)
    raise AssertionError(f"{agent_id}: {step} not reached")
