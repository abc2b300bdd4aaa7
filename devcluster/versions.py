"""The Mesos builds the master emulator answers as, and where each difference was read.

DC/OS pins Mesos by commit (github:dcos/dcos `packages/mesos/buildinfo.json`):

- DC/OS 1.10.11 builds apache/mesos e929d413 (branch 1.4.x, `configure.ac` 1.4.3; the
  tag 1.4.3 adds only containerizer and test changes to it): emulated as "1.4".
- DC/OS 1.13.9 builds apache/mesos bb32bf87 (branch 1.8.x after the tag 1.8.1,
  `configure.ac` 1.8.2): emulated as "1.8". DC/OS 1.13.0 shipped d2a36836 (1.8.0), which
  lacks three fixes modelled here: 5e1f25c8 (REVIVE clears only the named roles'
  filters, MESOS-9856), 13e4cd1c (an unreachable agent marked gone ends its tasks) and
  35451b65 (command executors detected by name, not by install path).

Each field names the source it was read from; "1.4.3" and "1.8.x" below mean those trees
(`git show 1.4.3:<path>`, `git show bb32bf87:<path>`). DC/OS's own master and agent
flags (github:dcos/dcos `gen/dcos-config.yaml` at 1.10.11 and 1.13.9) are in `DCOS_FLAGS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# Calls every emulated version knows (include/mesos/v1/scheduler/scheduler.proto `Call.Type`).
_CALLS_1_4 = frozenset({
    "SUBSCRIBE", "TEARDOWN", "ACCEPT", "DECLINE", "ACCEPT_INVERSE_OFFERS",
    "DECLINE_INVERSE_OFFERS", "REVIVE", "KILL", "SHUTDOWN", "ACKNOWLEDGE", "RECONCILE",
    "MESSAGE", "REQUEST", "SUPPRESS",
})


@dataclass(frozen=True)
class MesosVersion:
    name: str
    version: str  # what /version, /master/state and master_info report
    git_sha: str
    dcos_release: str
    # scheduler.proto `Call.Type`; UPDATE_FRAMEWORK only exists from 1.9.
    call_types: frozenset[str]
    # stout/protobuf.hpp `parse` (TYPE_ENUM): 1.4.3 fails on an unknown enum name
    # ("Failed to find enum for 'X'"); 1.8.x drops it from an optional field, so an
    # unknown call type reads as a call without `type`.
    drops_unknown_enums: bool
    # master.cpp `Master::reconcile`/`_reconcileTasks`, explicit case "task unknown, agent
    # registered": TASK_UNKNOWN in 1.4.3, TASK_GONE in 1.8.x.
    unknown_task_on_registered_agent: str
    # http.cpp `Master::Http::markAgentGone` (MARK_AGENT_GONE) exists from 1.5; without
    # it an agent leaves for good by unregistering (master.cpp `Master::unregisterSlave`)
    # or by registry garbage collection of an unreachable agent.
    marks_agents_gone: bool
    # master.cpp `Master::markGone` at 1.8.x (13e4cd1c): tasks of an unreachable agent
    # marked gone end TASK_GONE_BY_OPERATOR.
    gone_unreachable_agent_ends_tasks: bool
    # master.cpp `Master::__reregisterSlave`: 1.8.x forwards each task's state with
    # REASON_AGENT_REREGISTERED when an agent that was not recovered comes back; 1.4.3
    # re-adds partition-aware tasks silently and shuts non-partition-aware frameworks down.
    forwards_reregistered_tasks: bool
    # allocator/mesos/hierarchical.cpp `HierarchicalAllocatorProcess::reviveOffers`:
    # 1.4.3 `framework.offerFilters.clear()`; 1.8.x (5e1f25c8) erases only the revived roles.
    revive_clears_every_filter: bool
    # launcher/executor.cpp `CommandExecutor::launch`: 1.8.x sends TASK_STARTING before
    # TASK_RUNNING; 1.4.3 only TASK_RUNNING.
    command_executor_sends_starting: bool
    # slave.cpp `Executor::Executor` + `Slave::executorTerminated`: 1.4.3 takes an executor
    # for a custom one unless its command contains realpath(launcher_dir)/mesos-executor;
    # DC/OS sets a symlinked --launcher_dir, so command executors re-register as custom
    # ones (`doReliableRegistration`) and their exit reaches the framework as a FAILURE
    # (master.cpp `Master::exitedExecutor`). 1.8.x (35451b65) recognises them by name.
    command_executor_exit_is_failure: bool
    # slave.cpp `Slave::reregisterExecutorTimeout` message wording.
    executor_reregistration_message: str
    # master/constants.cpp `MASTER_CAPABILITIES` (1.8.x only; MasterInfo has none in 1.4.3).
    master_capabilities: tuple[str, ...]
    # slave/constants.cpp `AGENT_CAPABILITIES`.
    agent_capabilities: tuple[str, ...]


VERSIONS: dict[str, MesosVersion] = {
    "1.4": MesosVersion(
        name="1.4", version="1.4.3", git_sha="e929d413328e10f6d358899500d5aaedd9d9bc51",
        dcos_release="1.10.11", call_types=_CALLS_1_4, drops_unknown_enums=False,
        unknown_task_on_registered_agent="TASK_UNKNOWN", marks_agents_gone=False,
        gone_unreachable_agent_ends_tasks=False, forwards_reregistered_tasks=False,
        revive_clears_every_filter=True, command_executor_sends_starting=False,
        command_executor_exit_is_failure=True,
        executor_reregistration_message="Executor did not re-register within {}",
        master_capabilities=(),
        agent_capabilities=("MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"),
    ),
    "1.8": MesosVersion(
        name="1.8", version="1.8.2", git_sha="bb32bf8732af3e941aa651c82f5c4f3f03e2e139",
        dcos_release="1.13.9",
        call_types=_CALLS_1_4 | {"ACKNOWLEDGE_OPERATION_STATUS", "RECONCILE_OPERATIONS"},
        drops_unknown_enums=True, unknown_task_on_registered_agent="TASK_GONE",
        marks_agents_gone=True, gone_unreachable_agent_ends_tasks=True,
        forwards_reregistered_tasks=True, revive_clears_every_filter=False,
        command_executor_sends_starting=True, command_executor_exit_is_failure=False,
        executor_reregistration_message="Executor did not reregister within {}",
        master_capabilities=("AGENT_UPDATE",),
        agent_capabilities=("HIERARCHICAL_ROLE", "MULTI_ROLE", "RESERVATION_REFINEMENT",
                            "RESOURCE_PROVIDER", "RESIZE_VOLUME", "AGENT_OPERATION_FEEDBACK"),
    ),
}
# The newest DC/OS release's Mesos that is emulated.
DEFAULT_VERSION = "1.8"


@dataclass(frozen=True)
class DcosFlags:
    """Master and agent flags both DC/OS releases set (gen/dcos-config.yaml)."""

    offer_timeout_s: float = 120.0  # MESOS_OFFER_TIMEOUT=2mins
    executor_reregistration_timeout_s: float = 10.0  # MESOS_EXECUTOR_REREGISTRATION_TIMEOUT
    public_agent_role: str = "slave_public"  # MESOS_DEFAULT_ROLE on public agents
    public_agent_attribute: tuple[str, str] = ("public_ip", "true")  # MESOS_ATTRIBUTES


DCOS_FLAGS = DcosFlags()


def named(table: Mapping[str, T], name: str, what: str) -> T:
    """`table[name]`; a ValueError naming `what` and the choices when it is not there."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; emulated: "
                         f"{', '.join(sorted(table))}") from None


def mesos_version(name: str) -> MesosVersion:
    return named(VERSIONS, name, "Mesos version")
