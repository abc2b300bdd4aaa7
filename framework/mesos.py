"""The pymesos edge: FrameworkInfo, callbacks that only enqueue, offers translated for the engine,
and the two calls pymesos sends without the agent id.

pymesos runs callbacks on its I/O thread and aborts the driver on any exception there, so
each callback does nothing but put a typed message on the scheduler's queue.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymesos import Scheduler

from framework.config import Config
from framework.engine import (
    PUBLIC_MESOS_ROLE,
    AgentUnreachable,
    Offer,
    Offers,
    RoleResources,
    TaskStatus,
)
from framework.taskinfo import allocation_role

CAPABILITIES = ("MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE")
FRAMEWORK_REMOVED = "Framework has been removed"


@dataclass(frozen=True)
class Registered:
    framework_id: str
    master: str


@dataclass(frozen=True)
class Disconnected:
    pass


@dataclass(frozen=True)
class DriverError:
    message: str


@dataclass(frozen=True)
class StatusUpdate:
    """A status update for the engine, and the raw form needed to acknowledge it once stored."""

    status: TaskStatus
    raw: dict


@dataclass(frozen=True)
class RawOffers:
    """Offers as the master sent them; the engine sees `to_engine()`, tasks need the raw shape."""

    offers: tuple[dict, ...]

    def to_engine(self) -> Offers:
        return Offers(tuple(engine_offer(o) for o in self.offers))


def framework_info(config: Config, webui_url: str, framework_id: str | None) -> dict:
    info = {
        "user": "root",
        "name": config.framework.name,
        "hostname": config.framework.hostname,
        "roles": list(config.mesos.roles),
        "capabilities": [{"type": c} for c in CAPABILITIES],
        "checkpoint": True,
        "failover_timeout": config.mesos.failover_timeout_s,
        "webui_url": webui_url,
    }
    if config.mesos.principal:
        info["principal"] = config.mesos.principal
    if framework_id:
        info["id"] = {"value": framework_id}
    return info


def engine_offer(offer: dict) -> Offer:
    """Scalar cpus/mem per allocation role; never summed across roles.

    The agent is public when its resources are reserved to `slave_public` (DC/OS starts
    public agents with --default_role=slave_public): the allocation role says nothing
    about it, as a private agent's unreserved resources may be allocated to any role the
    framework subscribed to, `slave_public` included (apache/mesos
    allocator/mesos/hierarchical.cpp `allocate`, `Resources::allocatableTo`)."""
    by_role: dict[str, dict[str, float]] = {}
    public = False
    for resource in offer.get("resources", []):
        public = public or reserved_role(resource) == PUBLIC_MESOS_ROLE
        if resource.get("name") in ("cpus", "mem") and resource.get("type", "SCALAR") == "SCALAR":
            totals = by_role.setdefault(allocation_role(resource), {"cpus": 0.0, "mem": 0.0})
            totals[resource["name"]] += float(resource.get("scalar", {}).get("value", 0.0))
    return Offer(
        offer_id=offer["id"]["value"],
        agent_id=offer["agent_id"]["value"],
        hostname=offer.get("hostname", ""),
        resources=tuple(RoleResources(role, t["cpus"], t["mem"]) for role, t in by_role.items()),
        public=public,
    )


def reserved_role(resource: dict) -> str:
    """The role a v1 resource is reserved to ("*" when unreserved): the last reservation
    (post-refinement format), else the legacy `role` field."""
    reservations = resource.get("reservations") or []
    if reservations:
        return reservations[-1].get("role") or "*"
    return resource.get("role") or "*"


def reconcile_tasks(driver: Any, tasks: Iterable[tuple[str, str]]) -> None:
    """RECONCILE naming each task's agent.

    pymesos 0.3.15 `MesosSchedulerDriver.reconcileTasks` (pymesos/scheduler.py) sends
    only task ids; without an agent id a real master answers TASK_UNKNOWN where it knows
    the agent (TASK_GONE, TASK_UNREACHABLE or TASK_GONE_BY_OPERATOR with one), and drops
    the question while any agent is still recovering after a failover (apache/mesos
    master.cpp `Master::reconcile`). Sent through the driver's own connection, stream id
    and credentials (`_send`), as its calls are; nothing while it is not subscribed."""
    items = [{"task_id": {"value": task_id}, "agent_id": {"value": agent_id}}
             for task_id, agent_id in tasks]
    _send_call(driver, "RECONCILE", "reconcile", {"tasks": items})


def kill_task(driver: Any, task_id: str, agent_id: str) -> None:
    """KILL naming the task's agent (pymesos `killTask` sends the task id only), so a kill
    of a task the master does not know is answered by reconciliation for that agent."""
    _send_call(driver, "KILL", "kill", {"task_id": {"value": task_id},
                                        "agent_id": {"value": agent_id}})


def _send_call(driver: Any, kind: str, field: str, body: dict) -> None:
    if not driver.connected:
        return
    driver._send({"type": kind, "framework_id": {"value": driver.framework_id}, field: body})


class QueueingScheduler(Scheduler):
    """Translates pymesos callbacks into messages on `inbox`; does nothing else."""

    def __init__(self, inbox: queue.Queue) -> None:
        self.inbox = inbox

    def registered(self, driver, framework_id, master_info):
        self.inbox.put(Registered(framework_id["value"], _master_address(master_info)))

    def reregistered(self, driver, master_info):
        self.inbox.put(Registered(driver.framework_id, _master_address(master_info)))

    def disconnected(self, driver):
        self.inbox.put(Disconnected())

    def resourceOffers(self, driver, offers):  # noqa: N802 - pymesos API
        self.inbox.put(RawOffers(tuple(offers)))

    def statusUpdate(self, driver, update):  # noqa: N802 - pymesos API
        status = TaskStatus(
            task_id=update.get("task_id", {}).get("value", ""),
            state=update.get("state", ""),
            message=update.get("message"),
            reason=update.get("reason"),
            healthy=update.get("healthy"),
            address=network_address(update),
        )
        self.inbox.put(StatusUpdate(status, dict(update)))

    def slaveLost(self, driver, agent_id):  # noqa: N802 - pymesos API
        self.inbox.put(AgentUnreachable(agent_id["value"]))

    def error(self, driver, message):
        self.inbox.put(DriverError(str(message)))


def network_address(update: dict) -> str | None:
    """The task's first IP on a named network: the CNI isolator reports one NetworkInfo per
    network the container joined, with its name and the plugin's addresses (apache/mesos
    1.4.3 src/slave/containerizer/mesos/isolators/network/cni/cni.cpp `status`); a task on
    the host network has no named entry."""
    infos = (update.get("container_status") or {}).get("network_infos") or []
    for info in infos:
        if isinstance(info, dict) and info.get("name"):
            for address in info.get("ip_addresses") or []:
                if isinstance(address, dict) and address.get("ip_address"):
                    return str(address["ip_address"])
    return None


def _master_address(master_info: dict) -> str:
    return f"{master_info.get('hostname')}:{master_info.get('port')}"
