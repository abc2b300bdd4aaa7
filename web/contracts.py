"""What the web app needs from the scheduler, and what it promises back.

The scheduler owns the rollout; the web app only reads immutable snapshots of it and forwards
operator requests. Keeping these interfaces here (and free of pymesos/etcd imports) lets the
app be tested with plain in-memory fakes and lets the scheduler change its internals freely.

Documents are plain JSON-ready mappings, never live scheduler objects:

* ``StatusSource.status()`` returns the status document of ``docs/status-api.md``.
* ``StatusSource.agent(agent_id)`` returns that agent's entry of the status document, or
  ``None`` when the agent is unknown. Each step may additionally carry ``"history"``: its
  tasks, oldest first, each ``{"task_id", "state", "attempt", "message", "started_at",
  "updated_at"}`` (times are unix seconds or null).
* ``StatusSource.events(agent_id=None, limit=N)`` returns up to ``N`` events, newest first,
  each ``{"seq": int, "at": float, "kind": str, "message": str, "agent_id": str | None,
  "by": str | None}``; with ``agent_id`` only the events of that agent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# The states of the status document are defined once, by the engine that derives it (a
# pure package: importing it brings in neither pymesos nor etcd); re-exported for web/.
from framework.engine import AGENT_STATES, ROLLOUT_STATES, STEP_STATES  # noqa: F401

Document = Mapping[str, Any]


class OperatorActionError(Exception):
    """Root of the errors an `OperatorActions` raises for requests it cannot carry out."""


class UnknownAgentError(OperatorActionError):
    """The agent id names no agent the scheduler knows."""


class NotApplicableError(OperatorActionError):
    """The action makes no sense in the current state (e.g. skip on a complete agent)."""


class ControlUnavailableError(OperatorActionError):
    """The scheduler cannot record the action right now (not leader, etcd unreachable)."""


class StatusSource(Protocol):
    """Read-only view of the rollout, as immutable JSON-ready documents."""

    def status(self) -> Document: ...

    def agent(self, agent_id: str) -> Document | None: ...

    def events(self, agent_id: str | None = None, limit: int = 100) -> Sequence[Document]: ...


class OperatorActions(Protocol):
    """Operator actions. Each is idempotent and recorded in the event log by the scheduler.

    ``by`` names who asked, ``why`` is their reason. Raise `UnknownAgentError`,
    `NotApplicableError` or `ControlUnavailableError`; anything else is a server error.
    """

    def pause(self, by: str, why: str) -> None: ...

    def resume(self, by: str, why: str) -> None: ...

    def retry(self, agent_id: str, by: str, why: str) -> None: ...

    def skip(self, agent_id: str, by: str, why: str) -> None: ...


class UserCheckError(Exception):
    """Root of the errors of checking a DC/OS user's authentication token."""


class TokenRejectedError(UserCheckError):
    """The token is not a valid DC/OS authentication token of an allowed user."""


class UserCheckUnavailableError(UserCheckError):
    """The token cannot be checked right now (the IAM's public keys are unreachable)."""


class DcosUsers(Protocol):
    """Who a DC/OS authentication token stands for (the token a logged-in user presents
    through Admin Router as ``Authorization: token=<jwt>``).

    `verify` returns the user's uid, or raises `TokenRejectedError` or
    `UserCheckUnavailableError` with a sentence saying why.
    """

    def verify(self, token: str) -> str: ...


@dataclass(frozen=True)
class HealthReport:
    """Readiness: `ok` is true when this scheduler leads, is subscribed to the master and
    reaches etcd; `reasons` say why not. Liveness: `live` is false only when restarting the
    scheduler would help (its worker is stuck), `live_reason` says so."""

    ok: bool
    reasons: tuple[str, ...] = ()
    live: bool = True
    live_reason: str | None = None


HealthCheck = Callable[[], HealthReport]
# The scheduler's counters by name (`web.metrics.SCHEDULER_COUNTERS` lists the names).
MetricsSource = Callable[[], Mapping[str, float]]
