"""Engine outputs: plain data the scheduler glue applies after it stored the records."""

from __future__ import annotations

from dataclasses import dataclass, field

from framework.engine.policy import DEFAULT_REFUSE_WAIT_S
from framework.engine.records import AgentRecord, RolloutControl


@dataclass(frozen=True, slots=True)
class Launch:
    """Accept `offer_id` with one task of `step`, using only resources of `role`; what the
    task leaves of the offer is refused for `refuse_seconds`."""

    offer_id: str
    agent_id: str
    task_id: str
    step: str
    role: str
    cpus: float
    mem: float
    target_hash: str
    refuse_seconds: float = DEFAULT_REFUSE_WAIT_S
    # Disruptive steps only: the task may restart a unit (it holds a restart slot).
    # Without it the installer applies what it can live and exits 76 when a restart is
    # needed.
    allow_restart: bool = True


@dataclass(frozen=True, slots=True)
class Decline:
    offer_id: str
    refuse_seconds: float


@dataclass(frozen=True, slots=True)
class Kill:
    task_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Suppress:
    """No agent needs an offer: stop receiving them."""


@dataclass(frozen=True, slots=True)
class Revive:
    """Work appeared: receive offers again and drop earlier decline filters."""


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Ask the master for these tasks' states ((task id, agent id) pairs); empty = all."""

    tasks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Teardown:
    """The uninstall is complete on every agent: deregister the framework (Mesos TEARDOWN,
    which ends any task left) and remove the stored state. Asked again after every
    (re)subscription until it is done."""


Action = Launch | Decline | Kill | Suppress | Revive | Reconcile | Teardown


@dataclass(frozen=True, slots=True)
class Notice:
    """A one-line, human-readable account of a change, for the event log."""

    text: str
    agent_id: str | None = None
    step: str | None = None
    by: str | None = None  # the operator whose action this records


@dataclass(frozen=True)
class Decision:
    """The result of one event: store `records` and `control` first, then apply `actions`.

    `records` are the complete new values of the agents that changed (`agents/<agent-id>`);
    `removed` the agents whose records are deleted; `control` is the new control value
    when it changed, else None.
    """

    records: tuple[AgentRecord, ...] = ()
    removed: tuple[str, ...] = ()
    control: RolloutControl | None = None
    actions: tuple[Action, ...] = ()
    notices: tuple[Notice, ...] = ()
    undo: dict[str, AgentRecord | None] = field(default_factory=dict, repr=False, compare=False)
    undo_control: RolloutControl | None = field(default=None, repr=False, compare=False)
    undo_suppressed: bool = field(default=False, repr=False, compare=False)
    undo_declined: set[str] | None = field(default=None, repr=False, compare=False)
    undo_declined_added: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    undo_teardown_asked: bool = field(default=False, repr=False, compare=False)

    @property
    def needs_write(self) -> bool:
        return bool(self.records) or bool(self.removed) or self.control is not None
