"""Records of the master emulator: options, subscriptions, offers, frameworks, faults."""

from __future__ import annotations

import collections
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devcluster.agent import AgentTask
from devcluster.protocol import Resources, recordio

COMPLETED_TASKS_KEPT = 1000  # as --max_completed_tasks_per_framework


@dataclass(frozen=True)
class MasterOptions:
    """Tunables; the defaults are Mesos' own (agent status retries start at 10 s)."""

    heartbeat_interval_s: float = 15.0
    allocation_interval_s: float = 1.0
    status_retry_s: float = 10.0
    agent_restart_s: float = 2.0
    failover_unavailable_s: float = 0.5
    principal: str | None = None
    secret: str | None = None
    # DC/OS strict mode: `Authorization: token=<t>` is accepted when this returns the
    # token's principal (None: unknown, expired or revoked).
    authenticate_token: Callable[[str], str | None] | None = None
    # --offer_timeout: offers held longer are rescinded (DC/OS sets 2 minutes; Mesos none).
    offer_timeout_s: float | None = None


@dataclass
class Subscription:
    stream_id: str
    framework_id: str = ""
    events: queue.Queue = field(default_factory=queue.Queue)
    closed: bool = False

    def send(self, event: dict) -> None:
        if not self.closed:
            self.events.put(recordio(event))

    def close(self) -> None:
        self.closed = True
        self.events.put(None)


@dataclass
class Offer:
    id: str
    framework_id: str
    agent_id: str
    role: str
    resources: Resources


@dataclass
class Framework:
    id: str
    info: dict
    subscription: Subscription | None = None
    registered_time: float = field(default_factory=time.time)
    unregistered_time: float = 0.0
    reregistered_time: float = 0.0
    suppressed_roles: set[str] = field(default_factory=set)
    filters: dict[tuple[str, str], float] = field(default_factory=dict)
    tasks: dict[str, AgentTask] = field(default_factory=dict)
    completed_tasks: collections.deque = field(
        default_factory=lambda: collections.deque(maxlen=COMPLETED_TASKS_KEPT))
    offers: dict[str, Offer] = field(default_factory=dict)
    disconnect_generation: int = 0

    @property
    def capabilities(self) -> set[str]:
        return {c.get("type") for c in self.info.get("capabilities", []) if isinstance(c, dict)}

    @property
    def roles(self) -> list[str]:
        if "MULTI_ROLE" in self.capabilities:
            return list(self.info.get("roles") or ["*"])
        return [self.info.get("role") or "*"]

    @property
    def partition_aware(self) -> bool:
        return "PARTITION_AWARE" in self.capabilities

    @property
    def connected(self) -> bool:
        return self.subscription is not None and not self.subscription.closed


@dataclass
class Faults:
    """Injected faults the agents and the master consult: pending fetch failures per agent
    id (or "*" for any agent), a delay and duplication of every forwarded status update."""

    fetch_failures: collections.Counter = field(default_factory=collections.Counter)
    update_delay_s: float = 0.0
    duplicate_updates: bool = False

    def take_fetch_failure(self, agent_id: str) -> bool:
        for key in (agent_id, "*"):
            if self.fetch_failures[key] > 0:
                self.fetch_failures[key] -= 1
                return True
        return False
