"""Records of the master emulator: options, subscriptions, offers, frameworks, tasks, faults."""

from __future__ import annotations

import collections
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devcluster import cni
from devcluster.protocol import TERMINAL_STATES, Resources, recordio
from devcluster.versions import DCOS_FLAGS, DEFAULT_VERSION, MesosVersion, mesos_version

COMPLETED_TASKS_KEPT = 1000  # as --max_completed_tasks_per_framework


@dataclass(frozen=True)
class MasterOptions:
    """Tunables; the defaults are those of Mesos as DC/OS runs it (devcluster.versions).
    The constants named below are apache/mesos 1.4.3 and 1.8.1 `src/master/constants.hpp`
    and `src/slave/constants.hpp` (the same values in both tags)."""

    version: str = DEFAULT_VERSION  # which Mesos the master answers as ("1.4", "1.8")
    heartbeat_interval_s: float = 15.0  # master/constants.hpp DEFAULT_HEARTBEAT_INTERVAL
    allocation_interval_s: float = 1.0  # master/constants.hpp DEFAULT_ALLOCATION_INTERVAL
    status_retry_s: float = 10.0  # slave/constants.hpp STATUS_UPDATE_RETRY_INTERVAL_MIN
    agent_restart_s: float = 2.0
    failover_unavailable_s: float = 0.5
    # After a master failover each agent re-registers within its registration backoff
    # (slave/constants.hpp DEFAULT_REGISTRATION_BACKOFF_FACTOR, 1 s); one still recovered
    # after --agent_reregister_timeout (master/constants.hpp, 10 min) becomes unreachable.
    agent_reregister_delay_s: float = 1.0
    agent_reregister_timeout_s: float = 600.0
    executor_reregistration_timeout_s: float = DCOS_FLAGS.executor_reregistration_timeout_s
    principal: str | None = None
    secret: str | None = None
    # DC/OS strict mode: `Authorization: token=<t>` is accepted when this returns the
    # token's principal (None: unknown, expired or revoked).
    authenticate_token: Callable[[str], str | None] | None = None
    # --offer_timeout: offers held longer are rescinded (DC/OS sets 2 minutes; Mesos none).
    offer_timeout_s: float | None = DCOS_FLAGS.offer_timeout_s

    @property
    def mesos(self) -> MesosVersion:
        return mesos_version(self.version)


@dataclass
class Subscription:
    """One scheduler's event stream. Events reach it in the order they are sent, as on the
    one HTTP response the v1 scheduler API streams them on: an event held back (a slow
    link, `send_late`) holds back every event sent after it."""

    stream_id: str
    framework_id: str = ""
    events: queue.Queue = field(default_factory=queue.Queue)
    closed: bool = False
    # (monotonic time due, encoded event) of events held back, in send order.
    held: collections.deque = field(default_factory=collections.deque)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def send(self, event: dict) -> None:
        self._send(event, 0.0)

    def send_late(self, event: dict, delay_s: float) -> None:
        """Send `event` `delay_s` from now; call `release_due` then."""
        self._send(event, time.monotonic() + delay_s)

    def _send(self, event: dict, due: float) -> None:
        with self.lock:
            if self.closed:
                return
            if self.held or due > time.monotonic():
                self.held.append((due, recordio(event)))
            else:
                self.events.put(recordio(event))

    def release_due(self) -> None:
        """Let the held events through that are due, and those behind them not held."""
        with self.lock:
            now = time.monotonic()
            while self.held and self.held[0][0] <= now:
                self.events.put(self.held.popleft()[1])

    def close(self) -> None:
        self.closed = True
        self.events.put(None)


@dataclass
class Offer:
    id: str
    framework_id: str
    agent_id: str
    role: str  # the role the resources are reserved for ("*": unreserved)
    resources: Resources
    allocation_role: str = "*"


@dataclass
class OfferFilter:
    """allocator/mesos/hierarchical.cpp `RefusedOfferFilter`: blocks an offer whose
    resources the refused ones contain (a superset check), until it expires."""

    resources: Resources
    expires: float

    def blocks(self, offered: Resources, now: float) -> bool:
        return now < self.expires and self.resources.contains(offered)


@dataclass
class AgentTask:
    task_id: str
    name: str
    framework_id: str
    agent_id: str
    role: str
    resources: Resources
    info: dict
    sandbox: Path
    allocation_role: str = "*"
    state: str = "TASK_STAGING"
    statuses: list[dict] = field(default_factory=list)
    pending_updates: list[dict] = field(default_factory=list)
    retry_s: float = 0.0
    proc: subprocess.Popen | None = None
    killing: bool = False
    kill_pending: bool = False
    healthy: bool | None = None
    health_failures: int = 0
    health_checks_run: int = 0
    started_at: float = 0.0
    lost_with_agent: bool = False
    # The master knows this command executor as a custom one (see
    # devcluster.versions `command_executor_exit_is_failure`).
    executor_known: bool = False
    container_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    networks: list[cni.Attached] = field(default_factory=list)  # CNI networks joined
    netns: str | None = None  # its own network namespace, when the agent made one

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def status_update_state(self) -> str:
        """What the master reports: the state of the update being delivered, or the
        latest one (master.cpp `_reconcileTasks`: `status_update_state`)."""
        return self.pending_updates[0]["state"] if self.pending_updates else self.state


@dataclass
class Framework:
    id: str
    info: dict
    subscription: Subscription | None = None
    registered_time: float = field(default_factory=time.time)
    unregistered_time: float = 0.0
    reregistered_time: float = 0.0
    suppressed_roles: set[str] = field(default_factory=set)
    # Refused-offer filters by (allocation role, agent id), see devcluster.allocator.
    filters: dict[tuple[str, str], list[OfferFilter]] = field(default_factory=dict)
    # The tasks the master knows (on registered agents); tasks of unreachable agents
    # move to `unreachable_tasks` (master.cpp `Framework::unreachableTasks`).
    tasks: dict[str, AgentTask] = field(default_factory=dict)
    unreachable_tasks: dict[str, AgentTask] = field(default_factory=dict)
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
    id (or "*" for any agent), a delay and duplication of every forwarded status update
    (a delayed update holds back the events sent after it on its stream: a slow link)."""

    fetch_failures: collections.Counter = field(default_factory=collections.Counter)
    update_delay_s: float = 0.0
    duplicate_updates: bool = False

    def take_fetch_failure(self, agent_id: str) -> bool:
        for key in (agent_id, "*"):
            if self.fetch_failures[key] > 0:
                self.fetch_failures[key] -= 1
                return True
        return False
