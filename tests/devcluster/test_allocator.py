"""Allocation decisions and refused-offer filters, table-driven on plain records.

Sources: apache/mesos allocator/mesos/hierarchical.cpp `HierarchicalAllocatorProcess::
allocate`, `recoverResources`, `isFiltered`, `RefusedOfferFilter::filter` and
allocator/sorter/drf/sorter.hpp `compareDRF` (the same at 1.4.3 and 1.8.x).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.agent import AgentSpec, SimulatedAgent
from devcluster.allocator import (
    DEFAULT_REFUSE_S,
    MAX_REFUSE_S,
    Allocation,
    add_filter,
    allocatable,
    is_filtered,
    refuse_seconds,
)
from devcluster.master_records import Framework
from devcluster.protocol import Resources

NOW = 1000.0
TOTAL = Resources({"cpus": 8.0, "mem": 8192.0})


def _fw(fw_id: str, roles=("*", "slave_public"), suppressed=(), multi_role=True) -> Framework:
    caps = [{"type": "MULTI_ROLE"}] if multi_role else []
    info = {"roles": list(roles), "capabilities": caps} if multi_role else {
        "role": roles[0], "capabilities": caps}
    return Framework(id=fw_id, info=info, suppressed_roles=set(suppressed))


def _agent(public: bool = False, agent_id: str = "s1") -> SimulatedAgent:
    spec = AgentSpec(id=agent_id, hostname=agent_id, ip="127.0.1.1", public=public,
                     root=Path("/nonexistent"), work_dir=Path("/nonexistent"))
    return SimulatedAgent(None, spec, {})


def _free(cpus: float = 4.0, mem: float = 4096.0) -> Resources:
    return Resources({"cpus": cpus, "mem": mem})


def _pick(frameworks, agent, held=(), free=None):
    picked = Allocation(frameworks, TOTAL, held).pick(agent, free or _free(), NOW)
    return None if picked is None else (picked[0].id, picked[1])


@pytest.mark.parametrize(("frameworks", "public", "held", "expected"), [
    # Unreserved resources go to the role with the smallest share; ties by name.
    ([_fw("a")], False, (), ("a", "*")),
    ([_fw("a")], False, [("a", "*", _free(1.0, 64.0))], ("a", "slave_public")),
    ([_fw("a")], False, [("a", "slave_public", _free(1.0, 64.0))], ("a", "*")),
    # Resources reserved to slave_public go only to that role.
    ([_fw("a")], True, (), ("a", "slave_public")),
    ([_fw("a", roles=("*",))], True, (), None),
    ([_fw("a", roles=("slave_public",))], False, (), ("a", "slave_public")),
    # Suppressed roles take no part.
    ([_fw("a", suppressed=("*",))], False, (), ("a", "slave_public")),
    ([_fw("a", suppressed=("*", "slave_public"))], False, (), None),
    # Within a role, the framework with the smaller share first; ties by id.
    ([_fw("b", roles=("*",)), _fw("a", roles=("*",))], False, (), ("a", "*")),
    ([_fw("a", roles=("*",)), _fw("b", roles=("*",))], False,
     [("a", "*", _free(1.0, 64.0))], ("b", "*")),
    ([_fw("a", roles=("slave_public",), multi_role=False)], True, (), ("a", "slave_public")),
])
def test_pick(frameworks, public, held, expected):
    assert _pick(frameworks, _agent(public), held) == expected


def test_each_allocation_counts_in_the_next_choice():
    fw = _fw("a")
    allocation = Allocation([fw], TOTAL, ())
    picks = [allocation.pick(_agent(agent_id=f"s{i}"), _free(), NOW)[1] for i in range(4)]
    assert picks == ["*", "slave_public", "*", "slave_public"]


@pytest.mark.parametrize(("refused", "offered", "role", "agent_id", "now", "blocked"), [
    (_free(), _free(), "*", "s1", NOW, True),
    (_free(), _free(2.0, 1024.0), "*", "s1", NOW, True),  # a subset of the refused
    (_free(2.0, 1024.0), _free(), "*", "s1", NOW, False),  # more than was refused
    (_free(), _free(), "slave_public", "s1", NOW, False),  # per allocation role
    (_free(), _free(), "*", "s2", NOW, False),  # per agent
    (_free(), _free(), "*", "s1", NOW + 11.0, False),  # expired
])
def test_refused_offer_filter(refused, offered, role, agent_id, now, blocked):
    fw = _fw("a")
    add_filter(fw, "*", "s1", refused, 10.0, 1.0, NOW)
    assert is_filtered(fw, role, agent_id, offered, now) is blocked


def test_filter_lasts_at_least_one_allocation_interval():
    fw = _fw("a")
    add_filter(fw, "*", "s1", _free(), 0.001, 1.0, NOW)
    assert is_filtered(fw, "*", "s1", _free(), NOW + 0.5)
    add_filter(fw, "*", "s2", _free(), 0.0, 1.0, NOW)
    assert not is_filtered(fw, "*", "s2", _free(), NOW)
    assert ("*", "s2") not in fw.filters


@pytest.mark.parametrize(("filters", "expected"), [
    (None, DEFAULT_REFUSE_S),
    ({}, DEFAULT_REFUSE_S),
    ({"refuse_seconds": -1}, DEFAULT_REFUSE_S),
    ({"refuse_seconds": 0}, 0.0),
    ({"refuse_seconds": 30}, 30.0),
    ({"refuse_seconds": 1e12}, MAX_REFUSE_S),
])
def test_refuse_seconds(filters, expected):
    assert refuse_seconds(filters) == expected


@pytest.mark.parametrize(("scalars", "expected"), [
    ({"cpus": 0.01, "mem": 0.0}, True),
    ({"cpus": 0.0, "mem": 32.0}, True),
    ({"cpus": 0.009, "mem": 31.9, "disk": 1000.0}, False),
    ({}, False),
])
def test_allocatable(scalars, expected):
    assert allocatable(Resources(scalars)) is expected
