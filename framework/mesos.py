"""The pymesos edge: FrameworkInfo, callbacks that only enqueue, offers translated for the engine.

pymesos runs callbacks on its I/O thread and aborts the driver on any exception there, so
each callback does nothing but put a typed message on the scheduler's queue.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass

from pymesos import Scheduler

from framework.config import Config
from framework.engine import AgentUnreachable, Offer, Offers, RoleResources, TaskStatus
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
    """Scalar cpus/mem per allocation role; never summed across roles."""
    by_role: dict[str, dict[str, float]] = {}
    for resource in offer.get("resources", []):
        if resource.get("name") in ("cpus", "mem") and resource.get("type", "SCALAR") == "SCALAR":
            totals = by_role.setdefault(allocation_role(resource), {"cpus": 0.0, "mem": 0.0})
            totals[resource["name"]] += float(resource.get("scalar", {}).get("value", 0.0))
    return Offer(
        offer_id=offer["id"]["value"],
        agent_id=offer["agent_id"]["value"],
        hostname=offer.get("hostname", ""),
        resources=tuple(RoleResources(role, t["cpus"], t["mem"]) for role, t in by_role.items()),
    )


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
        )
        self.inbox.put(StatusUpdate(status, dict(update)))

    def slaveLost(self, driver, agent_id):  # noqa: N802 - pymesos API
        self.inbox.put(AgentUnreachable(agent_id["value"]))

    def error(self, driver, message):
        self.inbox.put(DriverError(str(message)))


def _master_address(master_info: dict) -> str:
    return f"{master_info.get('hostname')}:{master_info.get('port')}"
