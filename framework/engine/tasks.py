"""Mesos task states as the engine sees them, and the task id contract.

Task ids are `calico-<step>.<agent-id>.<unique>` (stable contract): the step and the agent
can be recovered from any task id, so reconciliation can attribute tasks no record knows.
"""

from __future__ import annotations

import re

from framework.engine.errors import TaskIdError
from framework.engine.plan import TASK_STEPS

TASK_ID_PREFIX = "calico-"

# The engine's own state for a task it asked to launch and has heard nothing about yet.
LAUNCHED = "LAUNCHED"

TASK_STAGING = "TASK_STAGING"
TASK_STARTING = "TASK_STARTING"
TASK_RUNNING = "TASK_RUNNING"
TASK_KILLING = "TASK_KILLING"
TASK_UNREACHABLE = "TASK_UNREACHABLE"
TASK_FINISHED = "TASK_FINISHED"
TASK_FAILED = "TASK_FAILED"
TASK_KILLED = "TASK_KILLED"
TASK_LOST = "TASK_LOST"
TASK_ERROR = "TASK_ERROR"
TASK_DROPPED = "TASK_DROPPED"
TASK_GONE = "TASK_GONE"
TASK_GONE_BY_OPERATOR = "TASK_GONE_BY_OPERATOR"
TASK_UNKNOWN = "TASK_UNKNOWN"

TERMINAL_STATES = frozenset(
    {
        TASK_FINISHED,
        TASK_FAILED,
        TASK_KILLED,
        TASK_LOST,
        TASK_ERROR,
        TASK_DROPPED,
        TASK_GONE,
        TASK_GONE_BY_OPERATOR,
        TASK_UNKNOWN,
    }
)
# Terminal states the master infers without hearing from the task: the task may in fact
# still run, so a later "running" report for it must be answered with a kill.
INFERRED_TERMINAL_STATES = frozenset(
    {TASK_LOST, TASK_DROPPED, TASK_GONE, TASK_GONE_BY_OPERATOR, TASK_UNKNOWN}
)
# States that end a task because its agent went away or restarted under it.
AGENT_LOSS_STATES = frozenset(
    {TASK_KILLED, TASK_LOST, TASK_DROPPED, TASK_GONE, TASK_GONE_BY_OPERATOR, TASK_UNKNOWN}
)
AGENT_RESTART_REASONS = frozenset(
    {
        "REASON_AGENT_DISCONNECTED",
        "REASON_AGENT_RESTARTED",
        "REASON_AGENT_REREGISTERED",
        "REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
        "REASON_EXECUTOR_TERMINATED",
        "REASON_SLAVE_RESTARTED",
    }
)
# The Mesos command executor words the installer's "run again" exit as
# "Command exited with status 75".
RERUN_EXIT_MARKER = "status 75"
# Installer exit 76: this host needs a unit restart and the run had no restart slot;
# nothing was changed (installer/README.md, "Restarts").
NEEDS_RESTART_EXIT_MARKER = "status 76"
# The installer's failures with a documented status (installer/errors.py, README.md), worded
# for the page: the executor's message carries only the status.
INSTALLER_EXIT_REASONS = {
    80: "a downloaded file does not match its configured sha256; nothing was installed",
    81: "the etcd behind this agent's proxy does not serve the v2 API that Calico v2.6 "
        "needs (etcd 3.4 and later: start it with --enable-v2)",
    82: "this agent's etcd proxy reaches no etcd member (check the members' peer URLs, or "
        "the SRV records of etcd.discovery_srv)",
    83: "this agent runs DC/OS's own Calico (DC/OS 2.1 or later): refused, nothing was "
        "changed",
    84: "a task on the Calico network cannot reach this agent's calico/node (BGP port 179)",
    85: "Docker cannot create a network with the calico drivers",
}
_EXIT_STATUS = re.compile(r"exited with status (\d+)$")


def explained(message: str) -> str:
    """The executor's message, with the installer's documented reason for its status."""
    found = _EXIT_STATUS.search(message)
    reason = INSTALLER_EXIT_REASONS.get(int(found.group(1))) if found else None
    return f"{message}: {reason}" if reason else message

REASON_RECONCILIATION = "REASON_RECONCILIATION"
# The unique part of a task id no task carries, reconciled to learn what the master
# knows of an agent that never ran a task of ours.
PROBE = "probe"

# Updates only move forward: a lower-ranked state never replaces a higher-ranked one.
_RANK = {
    LAUNCHED: 0,
    TASK_STAGING: 1,
    TASK_STARTING: 2,
    TASK_RUNNING: 3,
    TASK_KILLING: 3,
    TASK_UNREACHABLE: 3,
}
_TERMINAL_RANK = 4
KNOWN_STATES = frozenset(_RANK) | TERMINAL_STATES


def is_live(state: str | None) -> bool:
    """True for a task that exists or may still exist (launched and not terminal)."""
    return state is not None and state not in TERMINAL_STATES


def rank(state: str) -> int:
    return _TERMINAL_RANK if state in TERMINAL_STATES else _RANK.get(state, 0)


def make_task_id(step: str, agent_id: str, unique: str) -> str:
    if "." in unique or not unique:
        raise TaskIdError(f"task id suffix {unique!r} must be non-empty and contain no '.'")
    return f"{TASK_ID_PREFIX}{step}.{agent_id}.{unique}"


def parse_task_id(task_id: str) -> tuple[str, str]:
    """Return (step, agent id) of one of our task ids; TaskIdError for anything else."""
    if not task_id.startswith(TASK_ID_PREFIX):
        raise TaskIdError(f"{task_id!r} is not a calico task id")
    step, dot, rest = task_id[len(TASK_ID_PREFIX) :].partition(".")
    agent_id, dot2, unique = rest.rpartition(".")
    if not dot or not dot2 or not agent_id or not unique:
        raise TaskIdError(f"{task_id!r} is not of the form calico-<step>.<agent-id>.<unique>")
    if step not in TASK_STEPS:
        raise TaskIdError(f"{task_id!r} names unknown step {step!r}")
    return step, agent_id
