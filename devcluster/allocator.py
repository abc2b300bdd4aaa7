"""Allocation decisions of the master emulator: who is offered an agent, under which role,
and the refused-offer filters that hold offers back.

Modelled on allocator/mesos/hierarchical.cpp `HierarchicalAllocatorProcess::allocate`
(apache/mesos 1.4.3 and 1.8.x, the same in both): for each agent, the roles in DRF order
(allocator/sorter/drf/sorter.hpp `DRFSorter::Node::compareDRF`: dominant share, then
allocation count, then name), within a role its frameworks in the same order; the first
framework whose filters do not block the offer gets all of the agent's resources that are
allocatable to that role ("coarse-grained"): unreserved ones, or those reserved to exactly
that role (`Resources::allocatableTo`). So a framework subscribed to `*` and `slave_public`
is offered unreserved resources under either role, whichever has the smaller share.

Not modelled: quota, weights, hierarchical-role reservations, revocable and shared
resources, and the random shuffle of agents each cycle (agents are visited in the order
they joined, which changes no outcome the scheduler may rely on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devcluster.master_records import OfferFilter
from devcluster.protocol import Resources

if TYPE_CHECKING:
    from devcluster.agent import SimulatedAgent
    from devcluster.master_records import Framework, Offer

# master/constants.hpp DEFAULT_MIN_ALLOCATABLE_RESOURCES "cpus:0.01|mem:32".
MIN_ALLOCATABLE_CPUS = 0.01
MIN_ALLOCATABLE_MEM = 32.0
# mesos.proto `Filters.refuse_seconds` [default = 5.0]; `recoverResources` caps at 365 days.
DEFAULT_REFUSE_S = 5.0
MAX_REFUSE_S = 365 * 86400.0


def allocatable(free: Resources) -> bool:
    return (free.scalars.get("cpus", 0.0) >= MIN_ALLOCATABLE_CPUS
            or free.scalars.get("mem", 0.0) >= MIN_ALLOCATABLE_MEM)


def refuse_seconds(filters: object) -> float:
    """`Filters.refuse_seconds` as `recoverResources` reads it: the default when absent,
    negative or not a number; at most 365 days."""
    value = filters.get("refuse_seconds") if isinstance(filters, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return DEFAULT_REFUSE_S
    return min(float(value), MAX_REFUSE_S)


def add_filter(fw: Framework, role: str, agent_id: str, refused: Resources,
               refuse_s: float, allocation_interval_s: float, now: float) -> None:
    """`recoverResources` with filters: a zero timeout installs none; otherwise the filter
    lasts max(allocation interval, refuse_seconds) (MESOS-4302)."""
    if refuse_s <= 0 or refused.is_empty():
        return
    expires = now + max(allocation_interval_s, refuse_s)
    fw.filters.setdefault((role, agent_id), []).append(OfferFilter(refused.copy(), expires))


def is_filtered(fw: Framework, role: str, agent_id: str, offered: Resources,
                now: float) -> bool:
    """`isFiltered`: any unexpired filter of this role and agent whose refused resources
    contain the offered ones."""
    kept = [f for f in fw.filters.get((role, agent_id), ()) if now < f.expires]
    if kept:
        fw.filters[(role, agent_id)] = kept
    else:
        fw.filters.pop((role, agent_id), None)
    return any(f.blocks(offered, now) for f in kept)


@dataclass
class Usage:
    """What one client of a DRF sorter holds (offered or used): scalars and how many
    allocations it has."""

    cpus: float = 0.0
    mem: float = 0.0
    count: int = 0

    def add(self, resources: Resources) -> None:
        self.cpus += resources.scalars.get("cpus", 0.0)
        self.mem += resources.scalars.get("mem", 0.0)
        self.count += 1

    def share(self, total: Resources) -> float:
        shares = [used / total.scalars[name] for name, used in (("cpus", self.cpus),
                                                                  ("mem", self.mem))
                  if total.scalars.get(name, 0.0) > 0]
        return max(shares, default=0.0)


class Allocation:
    """One allocation cycle's view: the cluster total and what each role and each
    (framework, role) holds, updated as the cycle allocates."""

    def __init__(self, frameworks: list[Framework], total: Resources,
                 held: Iterable[tuple[str, str, Resources]]) -> None:
        self.frameworks = frameworks
        self.total = total
        self.roles: dict[str, Usage] = {}
        self.clients: dict[tuple[str, str], Usage] = {}
        for fw in frameworks:
            for role in fw.roles:
                self.roles.setdefault(role, Usage())
        for fw_id, role, resources in held:
            self._hold(fw_id, role, resources)

    def _hold(self, fw_id: str, role: str, resources: Resources) -> None:
        self.roles.setdefault(role, Usage()).add(resources)
        self.clients.setdefault((fw_id, role), Usage()).add(resources)

    def _order(self, usage: Usage, name: str) -> tuple[float, int, str]:
        return usage.share(self.total), usage.count, name

    def pick(self, agent: SimulatedAgent, free: Resources, now: float
             ) -> tuple[Framework, str] | None:
        """The framework and role the agent's free resources go to this cycle, or None."""
        reserved_for = agent.spec.role
        roles = sorted(self.roles, key=lambda r: self._order(self.roles[r], r))
        for role in roles:
            if reserved_for not in ("*", role):
                continue
            candidates = [fw for fw in self.frameworks
                          if role in fw.roles and role not in fw.suppressed_roles]
            candidates.sort(key=lambda fw: self._order(
                self.clients.get((fw.id, role), Usage()), fw.id))
            for fw in candidates:
                if not is_filtered(fw, role, agent.id, free, now):
                    self._hold(fw.id, role, free)
                    return fw, role
        return None


def offer_json(offer: Offer, agent: SimulatedAgent, fw: Framework) -> dict:
    """The v1 Offer message (mesos.proto) as the scheduler receives it."""
    multi_role = "MULTI_ROLE" in fw.capabilities
    role = offer.allocation_role
    body = {
        "id": {"value": offer.id},
        "framework_id": {"value": fw.id},
        "agent_id": {"value": agent.id},
        "hostname": agent.spec.hostname,
        "url": {"scheme": "http", "address": {"hostname": agent.spec.hostname,
                                              "ip": agent.spec.ip,
                                              "port": agent.spec.http_port},
                "path": "/slave(1)"},
        "resources": offer.resources.to_v1(offer.role, role if multi_role else None),
    }
    if multi_role:
        body["allocation_info"] = {"role": role}
    if agent.spec.public:
        name, value = agent.spec.attribute
        body["attributes"] = [{"name": name, "type": "TEXT", "text": {"value": value}}]
    return body
