"""The master's validation rules, table-driven."""

from __future__ import annotations

import pytest

from devcluster.errors import TaskInvalid
from devcluster.protocol import Resources
from devcluster.validation import id_problem, role_problem, validate_task

AVAILABLE = {"*": Resources({"cpus": 1.0, "mem": 128.0}, [(1025, 2000)])}


def _task(**changes) -> dict:
    task = {"task_id": {"value": "t"}, "agent_id": {"value": "a1"}, "name": "t",
            "command": {"value": "true"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                          {"name": "ports", "type": "RANGES",
                           "ranges": {"range": [{"begin": 1100, "end": 1101}]}}]}
    task.update(changes)
    return {k: v for k, v in task.items() if v is not None}


def test_valid_task_takes_its_role_and_resources():
    role, needed = validate_task(_task(), "a1", {}, AVAILABLE)
    assert role == "*"
    assert needed.scalars == {"cpus": 0.5} and needed.ports == [(1100, 1101)]


@pytest.mark.parametrize(("changes", "known", "message"), [
    ({"task_id": {"value": "a/b"}}, {}, "invalid characters"),
    ({}, {"t": object()}, "duplicate ID"),
    ({"agent_id": {"value": "a2"}}, {}, "invalid agent"),
    ({"name": None}, {}, "no 'name'"),
    ({"command": None}, {}, "at least one"),
    ({"executor": {}}, {}, "at least one"),
    ({"command": None, "executor": {}}, {}, "Custom executors"),
    ({"command": {"value": 5}}, {}, "string 'value'"),
    ({"health_check": {"type": "TCP", "tcp": {"port": 0}}}, {}, "tcp.port"),
    ({"resources": [{"name": "cpus", "scalar": {"value": -1}}]}, {}, "non-negative"),
    ({"resources": [{"name": "disk", "scalar": {"value": 1}}]}, {}, "no resources"),
    ({"resources": [{"name": "cpus", "scalar": {"value": 2}}]}, {}, "more than available"),
    ({"resources": [{"name": "ports", "type": "RANGES",
                     "ranges": {"range": [{"begin": 80, "end": 80}]}},
                    {"name": "cpus", "scalar": {"value": 0.1}}]}, {}, "more than available"),
    ({"resources": [{"name": "cpus", "scalar": {"value": 0.1}, "role": "other"}]}, {},
     "more than available"),
    ({"resources": [{"name": "cpus", "scalar": {"value": 0.1}, "role": "x"},
                    {"name": "mem", "scalar": {"value": 1}}]}, {}, "exactly one role"),
])
def test_invalid_tasks(changes, known, message):
    with pytest.raises(TaskInvalid, match=message):
        validate_task(_task(**changes), "a1", known, AVAILABLE)


@pytest.mark.parametrize(("value", "valid"), [
    ("calico-cni.S1.abc", True), ("", False), (".", False), ("..", False), ("a/b", False),
    ("a\\b", False), ("a b", False), ("a\nb", False), ("x" * 255, True), ("x" * 256, False),
    (None, False),
])
def test_ids(value, valid):
    assert (id_problem(value) is None) is valid


@pytest.mark.parametrize(("role", "valid"), [
    ("*", True), ("slave_public", True), ("a/b", True), ("", False), (".", False),
    ("-x", False), ("/a", False), ("a/", False), ("a//b", False), ("a/../b", False),
    ("a b", False),
])
def test_roles(role, valid):
    assert (role_problem(role) is None) is valid
