"""Allocation decisions of the master emulator: who is offered what, and the offer's JSON.

Mesos semantics (hierarchical allocator, simplified to one level): resources reserved for
a role are offered only to frameworks in that role; unreserved (`*`) resources to any
role a framework has not suppressed; DECLINE/ACCEPT filters hold per framework, agent and
resource role; an agent's free resources are offered once they reach the default
`min_allocatable_resources` (cpus:0.01|mem:32).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devcluster.protocol import Resources

if TYPE_CHECKING:
    from devcluster.agent import SimulatedAgent
    from devcluster.records import Framework, Offer

MIN_ALLOCATABLE_CPUS = 0.01
MIN_ALLOCATABLE_MEM = 32.0


def allocatable(free: Resources) -> bool:
    return (free.scalars.get("cpus", 0.0) >= MIN_ALLOCATABLE_CPUS
            or free.scalars.get("mem", 0.0) >= MIN_ALLOCATABLE_MEM)


def pick_framework(frameworks: list[Framework], agent_id: str, role: str,
                   now: float) -> tuple[Framework, str] | None:
    """The first framework that may be offered `role` resources of this agent, with the
    role it is offered them for."""
    for fw in frameworks:
        eligible = [r for r in fw.roles if r not in fw.suppressed_roles]
        if role != "*":
            alloc_role = role if role in eligible else None
        else:
            alloc_role = "*" if "*" in eligible else next(iter(eligible), None)
        if alloc_role is None or fw.filters.get((agent_id, role), 0.0) > now:
            continue
        return fw, alloc_role
    return None


def offer_json(offer: Offer, agent: SimulatedAgent, alloc_role: str, fw: Framework) -> dict:
    """The v1 Offer message (mesos.proto) as the scheduler receives it."""
    multi_role = "MULTI_ROLE" in fw.capabilities
    body = {
        "id": {"value": offer.id},
        "framework_id": {"value": fw.id},
        "agent_id": {"value": agent.id},
        "hostname": agent.spec.hostname,
        "url": {"scheme": "http", "address": {"hostname": agent.spec.hostname,
                                              "ip": agent.spec.ip,
                                              "port": agent.spec.http_port},
                "path": "/slave(1)"},
        "resources": offer.resources.to_v1(offer.role, alloc_role if multi_role else None),
    }
    if multi_role:
        body["allocation_info"] = {"role": alloc_role}
    if agent.spec.public:
        body["attributes"] = [{"name": "public_ip", "type": "TEXT", "text": {"value": "true"}}]
    return body
