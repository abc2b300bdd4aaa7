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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Document = Mapping[str, Any]

AGENT_STATES = ("pending", "in_progress", "complete", "failed", "gone")
STEP_STATES = ("pending", "staging", "running", "complete", "failed", "skipped", "backoff")
ROLLOUT_STATES = ("in_progress", "complete", "paused", "halted")


class ControlError(Exception):
    """Root of the errors a `Control` raises for requests it cannot carry out."""


class UnknownAgentError(ControlError):
    """The agent id names no agent the scheduler knows."""


class NotApplicableError(ControlError):
    """The action makes no sense in the current state (e.g. skip on a complete agent)."""


class ControlUnavailableError(ControlError):
    """The scheduler cannot record the action right now (not leader, etcd unreachable)."""


class StatusSource(Protocol):
    """Read-only view of the rollout, as immutable JSON-ready documents."""

    def status(self) -> Document: ...

    def agent(self, agent_id: str) -> Document | None: ...

    def events(self, agent_id: str | None = None, limit: int = 100) -> Sequence[Document]: ...


class Control(Protocol):
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
    """`ok` is true when subscribed to the master and etcd is reachable; `reasons` say why not."""

    ok: bool
    reasons: tuple[str, ...] = ()


MetricKind = Literal["counter", "gauge"]


@dataclass(frozen=True)
class Metric:
    """One metric family: a name, its kind and help text, and samples of (labels, value)."""

    name: str
    kind: MetricKind
    help: str
    samples: tuple[tuple[Mapping[str, str], float], ...] = field(default=())

    @classmethod
    def single(cls, name: str, kind: MetricKind, help: str, value: float) -> Metric:
        """A family with one unlabelled sample, the common case for scheduler counters."""
        return cls(name, kind, help, (({}, value),))


HealthCheck = Callable[[], HealthReport]
MetricsSource = Callable[[], Iterable[Metric]]
