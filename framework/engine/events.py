"""Engine inputs: plain, immutable values the scheduler glue builds from Mesos and operators."""

from __future__ import annotations

from dataclasses import dataclass

from framework.engine.reports import TaskReport

# The Mesos role public agents offer their resources under.
PUBLIC_MESOS_ROLE = "slave_public"


@dataclass(frozen=True, slots=True)
class RoleResources:
    """Scalar resources of one offer allocated to one role (never summed across roles)."""

    role: str
    cpus: float
    mem: float


@dataclass(frozen=True, slots=True)
class Offer:
    """One offer; `resources` per allocation role. `public`: the agent's resources are
    reserved to the public agents' role (a private agent's unreserved resources may be
    allocated to that role too, so the allocation role does not tell)."""

    offer_id: str
    agent_id: str
    hostname: str
    resources: tuple[RoleResources, ...]
    public: bool = False

    @property
    def agent_role(self) -> str:
        return "public" if self.public else "private"


@dataclass(frozen=True, slots=True)
class Offers:
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """A Mesos status update (or a reconciliation answer) for one task; `address`: its IP
    on a named (CNI) network, as the agent reported it."""

    task_id: str
    state: str
    message: str | None = None
    reason: str | None = None
    healthy: bool | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class TaskReported:
    """The installer's result file of a task that ended, read from the task's sandbox."""

    task_id: str
    report: TaskReport


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """An agent as the master lists it; `reachable=False` for one it marked unreachable;
    `recovering` for one a new master knows from its registry but that has not
    re-registered yet (`/master/slaves` `recovered_slaves`): neither back nor absent."""

    agent_id: str
    hostname: str
    role: str = "private"
    reachable: bool = True
    recovering: bool = False


@dataclass(frozen=True, slots=True)
class AgentSeen:
    """The master reports the agent as registered (added or re-registered)."""

    agent: AgentInfo


@dataclass(frozen=True, slots=True)
class AgentsListed:
    """The master's agent list (registered and recovering agents): unknown agents join;
    agents missing from it count as unreachable until reconciliation shows them gone."""

    agents: tuple[AgentInfo, ...]


@dataclass(frozen=True, slots=True)
class AgentUnreachable:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentRemoved:
    agent_id: str


@dataclass(frozen=True, slots=True)
class Pause:
    by: str
    why: str


@dataclass(frozen=True, slots=True)
class Resume:
    by: str
    why: str


@dataclass(frozen=True, slots=True)
class RetryAgent:
    """Operator: run the agent's unfinished steps again with fresh attempts."""

    agent_id: str
    by: str
    why: str


@dataclass(frozen=True, slots=True)
class SkipAgent:
    """Operator: treat the agent's unfinished steps as done for their current targets."""

    agent_id: str
    by: str
    why: str


@dataclass(frozen=True, slots=True)
class Uninstall:
    """Remove Calico from every agent, then tear the framework down (`dcos package
    uninstall`). Recorded in the control and never withdrawn."""

    by: str
    why: str


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The driver (re)subscribed: reconcile tasks and reset offer suppression."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed; lets the engine chase unconfirmed launches."""


Event = (
    Offers
    | TaskStatus
    | TaskReported
    | AgentSeen
    | AgentsListed
    | AgentUnreachable
    | AgentRemoved
    | Pause
    | Resume
    | RetryAgent
    | SkipAgent
    | Uninstall
    | Subscribed
    | Tick
)
