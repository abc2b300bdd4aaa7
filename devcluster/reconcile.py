"""Task reconciliation answers of the master emulator, per emulated version.

master.cpp `Master::_reconcileTasks` (apache/mesos 1.4.3) and `Master::reconcile` (1.8.x):

Implicit (no tasks named): the latest state of every task the master knows, that is the
framework's current tasks on registered agents (`framework->tasks`; tasks of unreachable
agents are in `unreachableTasks` and not reported), as `status_update_state`.

Explicit, per task named, in this order:
  (1) a pending task: TASK_STAGING (the emulator launches at once, so none are pending);
  (2) a current task: its latest state, "Reconciliation: Latest task state";
  (3) agent id given and that agent recovered after a failover, or no agent id and any
      agent still recovered: no answer ("Dropping reconciliation");
  (4) agent registered: TASK_GONE in 1.8.x, TASK_UNKNOWN in 1.4.3, "Reconciliation: Task
      is unknown to the agent";
  (5) agent unreachable: TASK_UNREACHABLE with `unreachable_time`;
  (6) agent gone (1.8.x only): TASK_GONE_BY_OPERATOR;
  (7) otherwise: TASK_UNKNOWN.
(4)-(7) are TASK_LOST for a framework without PARTITION_AWARE. Every answer has source
SOURCE_MASTER, reason REASON_RECONCILIATION and no uuid (nothing to acknowledge).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from devcluster.master_records import AgentTask

if TYPE_CHECKING:
    from devcluster.master import Master
    from devcluster.master_records import Framework

LATEST = "Reconciliation: Latest task state"


def latest_status(task: AgentTask, message: str, reason: str) -> dict:
    """A master-made update carrying what the master knows of `task`
    (protobuf::createStatusUpdate with the task's health and container status)."""
    status = {"task_id": {"value": task.task_id}, "state": task.status_update_state,
              "source": "SOURCE_MASTER", "reason": reason, "message": message,
              "agent_id": {"value": task.agent_id},
              "executor_id": {"value": task.task_id}, "timestamp": time.time()}
    if task.healthy is not None:
        status["healthy"] = task.healthy
    last = task.statuses[-1] if task.statuses else {}
    if "container_status" in last:
        status["container_status"] = last["container_status"]
    return status


def implicit(fw: Framework) -> list[dict]:
    return [latest_status(task, LATEST, "REASON_RECONCILIATION") for task in fw.tasks.values()]


def explicit(master: Master, fw: Framework, task_id: str, agent_id: str | None) -> dict | None:
    """The answer for one named task, or None when the master drops it."""
    task = fw.tasks.get(task_id)
    if task is not None:
        return latest_status(task, LATEST, "REASON_RECONCILIATION")
    agents = master.agents
    agent = agents.get(agent_id) if agent_id is not None else None
    if (agent is not None and agent.state == "recovered") or (
            agent_id is None and any(a.state == "recovered" for a in agents.values())):
        return None
    unreachable_time = None
    if agent is not None and agent.state in ("active", "disconnected"):
        state = master.mesos.unknown_task_on_registered_agent
        message = "Reconciliation: Task is unknown to the agent"
    elif agent is not None and agent.state == "unreachable":
        state, message = "TASK_UNREACHABLE", "Reconciliation: Task is unreachable"
        unreachable_time = agent.unreachable_since
    elif agent_id is not None and agent_id in master.gone_agents:
        state, message = "TASK_GONE_BY_OPERATOR", "Reconciliation: Task is gone"
    else:
        state, message = "TASK_UNKNOWN", "Reconciliation: Task is unknown"
    if not fw.partition_aware:
        state = "TASK_LOST"
    status = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_MASTER",
              "reason": "REASON_RECONCILIATION", "message": message,
              "timestamp": time.time()}
    if agent_id is not None:
        status["agent_id"] = {"value": agent_id}
    if unreachable_time is not None:
        status["unreachable_time"] = {"nanoseconds": int(unreachable_time * 1e9)}
    return status


def answers(master: Master, fw: Framework, items: list[dict]) -> list[dict]:
    """Every answer to one RECONCILE call, in order."""
    if not items:
        return implicit(fw)
    out = []
    for item in items:
        task_id = item["task_id"]["value"]
        agent_id = (item.get("agent_id") or {}).get("value")
        answer = explicit(master, fw, task_id, agent_id)
        if answer is not None:
            out.append(answer)
    return out
