"""Allocation decisions, table-driven on plain Framework records."""

from __future__ import annotations

import pytest

from devcluster.allocator import allocatable, pick_framework
from devcluster.protocol import Resources
from devcluster.records import Framework

NOW = 1000.0


def _fw(fw_id: str, roles=("*",), suppressed=(), filters=None, multi_role=True) -> Framework:
    caps = [{"type": "MULTI_ROLE"}] if multi_role else []
    info = {"roles": list(roles), "capabilities": caps} if multi_role else {
        "role": roles[0], "capabilities": caps}
    return Framework(id=fw_id, info=info, suppressed_roles=set(suppressed),
                     filters=dict(filters or {}))


@pytest.mark.parametrize(("frameworks", "role", "expected"), [
    ([_fw("a")], "*", ("a", "*")),
    ([_fw("a", roles=("slave_public",))], "*", ("a", "slave_public")),
    ([_fw("a", roles=("*",))], "slave_public", None),
    ([_fw("a", roles=("*", "slave_public"))], "slave_public", ("a", "slave_public")),
    ([_fw("a", roles=("*", "slave_public"), suppressed=("*",))], "*", ("a", "slave_public")),
    ([_fw("a", suppressed=("*",))], "*", None),
    ([_fw("a", filters={("s1", "*"): NOW + 1})], "*", None),
    ([_fw("a", filters={("s1", "*"): NOW - 1})], "*", ("a", "*")),
    ([_fw("a", filters={("s2", "*"): NOW + 1})], "*", ("a", "*")),
    ([_fw("a", suppressed=("*",)), _fw("b")], "*", ("b", "*")),
    ([_fw("a", roles=("slave_public",), multi_role=False)], "slave_public",
     ("a", "slave_public")),
])
def test_pick_framework(frameworks, role, expected):
    picked = pick_framework(frameworks, "s1", role, NOW)
    assert (None if picked is None else (picked[0].id, picked[1])) == expected


@pytest.mark.parametrize(("scalars", "expected"), [
    ({"cpus": 0.01, "mem": 0.0}, True),
    ({"cpus": 0.0, "mem": 32.0}, True),
    ({"cpus": 0.009, "mem": 31.9, "disk": 1000.0}, False),
    ({}, False),
])
def test_allocatable(scalars, expected):
    assert allocatable(Resources(scalars)) is expected
