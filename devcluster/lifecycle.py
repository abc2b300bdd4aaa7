"""How the master emulator sees its agents come and go, per emulated Mesos version.

The `Master` mixes this in; every method runs under the master's lock. Sources (apache/mesos
1.4.3 and 1.8.x, see devcluster.versions):

- An agent whose unit stops is disconnected (master.cpp `Master::exited`): offers are
  rescinded; tasks of frameworks without checkpointing end TASK_LOST with
  REASON_AGENT_DISCONNECTED, partition-aware or not (`Master::removeFramework(Slave*, ...)`).
  When it comes back it re-registers (`reconcileKnownSlave`) and resends what was not
  acknowledged; an executor that cannot re-register within
  --executor_reregistration_timeout is killed and its task ends TASK_GONE (TASK_LOST
  without PARTITION_AWARE), REASON_EXECUTOR_REREGISTRATION_TIMEOUT
  (slave.cpp `Slave::reregisterExecutorTimeout`).
- A partitioned agent is marked unreachable (`Master::_markUnreachable`): its tasks move to
  the framework's unreachable tasks with TASK_UNREACHABLE (TASK_LOST without
  PARTITION_AWARE), REASON_AGENT_REMOVED, "Agent <host> is unreachable: health check timed
  out", and every connected framework gets FAILURE (`sendSlaveLost`). Coming back
  (`Master::__reregisterSlave`): 1.8.x forwards each task's state with
  REASON_AGENT_REREGISTERED; 1.4.3 re-adds partition-aware tasks silently and shuts
  other frameworks down on the agent.
- A master failover (`Master::recover`, `_markUnreachableAfterFailover`): the new master
  knows no tasks; registered agents become recovered (`/master/slaves`
  `recovered_slaves`) until they re-register, unreachable ones stay unreachable, gone ones
  gone. Agents re-register within `agent_reregister_delay_s`; one that does not within
  --agent_reregister_timeout becomes unreachable (no task updates: none are known).
- An agent leaving for good: 1.8.x `Master::markGone` (MARK_AGENT_GONE): a registered
  agent's tasks end TASK_GONE_BY_OPERATOR, REASON_AGENT_REMOVED_BY_OPERATOR (TASK_LOST,
  REASON_AGENT_REMOVED without PARTITION_AWARE) plus FAILURE; an unreachable agent's tasks
  the same without FAILURE; a recovered agent's nothing (MESOS-9739). 1.4.3 has no gone
  state: a registered agent unregisters (`Master::unregisterSlave`, as DC/OS 1.10's
  decommissioning with SIGUSR1 does): TASK_LOST, REASON_AGENT_REMOVED, "Agent <host>
  removed: the agent unregistered" plus FAILURE; an unreachable one is dropped from the
  registry by garbage collection (--registry_max_agent_age) without a word.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from devcluster.agent import SimulatedAgent
from devcluster.errors import CallError
from devcluster.protocol import Resources, duration_text

if TYPE_CHECKING:
    from devcluster.master_records import AgentTask, Framework, MasterOptions, Offer
    from devcluster.timers import Timers
    from devcluster.versions import MesosVersion

UNIT_ACTIONS = ("restart", "stop", "start")
REGISTERED = ("active", "disconnected")
UNREACHABLE_MESSAGE = "health check timed out"  # master.cpp SlaveObserver timeout


class AgentLifecycle:
    lock: threading.RLock
    timers: Timers
    options: MasterOptions
    mesos: MesosVersion
    agents: dict[str, SimulatedAgent]
    frameworks: dict[str, Framework]
    removed_frameworks: dict[str, Framework]
    gone_agents: dict[str, float]
    offers: dict[str, Offer]
    _recovery: int

    # -- units (systemctl on the simulated host) -----------------------------------------

    def agent_unit_action(self, agent_id: str, action: str,
                          duration_s: float | None = None) -> None:
        """`systemctl <action> dcos-mesos-slave[-public]` on a simulated host."""
        with self.lock:
            agent = self._agent(agent_id)
            unit = agent.unit
            if action not in UNIT_ACTIONS:
                raise CallError(400, f"unknown unit action '{action}'")
            self._host_event(agent, unit, action, "begin", True)
            if action in ("restart", "stop") and agent.unit_state != "inactive":
                agent.unit_restarts += action == "restart"
                self._agent_down(agent, "activating" if action == "restart" else "inactive")
            if action == "stop":
                self._host_event(agent, unit, action, "end", True)
                return
            delay = self.options.agent_restart_s if duration_s is None else duration_s
            if agent.unit_state == "active":
                delay = 0.0
            else:
                agent.unit_state = "activating"
            self.timers.call_later(delay, lambda: self._agent_unit_up(agent, unit, action))

    def _agent_unit_up(self, agent: SimulatedAgent, unit: str, action: str) -> None:
        with self.lock:
            if agent.unit_state != "active" and agent.state != "removed":
                agent.unit_up()
                if not agent.partitioned and agent.state in (
                        "disconnected", "recovered", "unreachable"):
                    self._reregister(agent)
                self.timers.call_later(self.options.executor_reregistration_timeout_s,
                                       lambda: self._executors_reregistered(agent))
            self._host_event(agent, unit, action, "end", agent.unit_state == "active")

    def agent_unit_state(self, agent_id: str) -> dict:
        with self.lock:
            agent = self._agent(agent_id)
            return {"unit": agent.unit, "active_state": agent.unit_state,
                    "active_since": agent.unit_active_since, "restarts": agent.unit_restarts}

    def _agent_down(self, agent: SimulatedAgent, unit_state: str) -> None:
        """The agent process stops: executors of frameworks without checkpointing die
        with it; a registered agent is disconnected and those tasks end TASK_LOST."""
        self._rescind_agent_offers(agent)
        checkpointed = {fid for fid, fw in self.frameworks.items() if fw.info.get("checkpoint")}
        killed = agent.go_down(unit_state, checkpointed)
        if agent.state not in REGISTERED:
            for task in killed:  # the master cannot hear of it; the agent forgets them
                self._forget(agent, task)
            return
        agent.state = "disconnected"
        for task in killed:
            self._end_with_agent(agent, task, "TASK_LOST", "REASON_AGENT_DISCONNECTED",
                                 f"Agent {agent.spec.hostname} disconnected")

    def _executors_reregistered(self, agent: SimulatedAgent) -> None:
        with self.lock:
            if agent.state == "removed":
                return
            timeout = duration_text(self.options.executor_reregistration_timeout_s)
            message = self.mesos.executor_reregistration_message.format(timeout)
            for task in agent.hung_executors():
                fw = self.frameworks.get(task.framework_id)
                aware = fw is not None and fw.partition_aware
                agent.end_hung(task, "TASK_GONE" if aware else "TASK_LOST", message)

    # -- partitions ------------------------------------------------------------------------

    def lose_agent(self, agent_id: str) -> None:
        """A network partition: the master marks a registered agent unreachable at once
        (standing in for its ping timeouts); its tasks go on."""
        with self.lock:
            agent = self._agent(agent_id)
            agent.partitioned = True
            if agent.state in REGISTERED:
                self._mark_unreachable(agent, UNREACHABLE_MESSAGE)

    def restore_agent(self, agent_id: str) -> None:
        with self.lock:
            agent = self._agent(agent_id)
            agent.partitioned = False
            if agent.unit_state == "active" and agent.state in ("unreachable", "recovered"):
                self._reregister(agent)

    def _mark_unreachable(self, agent: SimulatedAgent, message: str) -> None:
        agent.state = "unreachable"
        agent.unreachable_since = time.time()
        self._rescind_agent_offers(agent)
        for fw in self.frameworks.values():
            for task in [t for t in fw.tasks.values() if t.agent_id == agent.id]:
                del fw.tasks[task.task_id]
                if fw.partition_aware:
                    fw.unreachable_tasks[task.task_id] = task
                    state = "TASK_UNREACHABLE"
                else:
                    fw.completed_tasks.append(task)
                    state = "TASK_LOST"
                self._send_master_update(
                    fw, task, state, "REASON_AGENT_REMOVED",
                    f"Agent {agent.spec.hostname} is unreachable: {message}",
                    unreachable_since=agent.unreachable_since)
        self._broadcast_failure(agent)

    def _reregister(self, agent: SimulatedAgent) -> None:
        """The agent registers again; the master learns its tasks from it."""
        previous = agent.state
        agent.come_up()
        returning = previous == "unreachable"
        for task in list(agent.tasks.values()):
            fw = self.frameworks.get(task.framework_id)
            if fw is None or fw.id in self.removed_frameworks:
                continue
            if returning and not self.mesos.forwards_reregistered_tasks \
                    and not fw.partition_aware:
                agent.shut_down_task(task)  # ShutdownFrameworkMessage (1.4.3)
                continue
            fw.tasks[task.task_id] = task
            if self.mesos.command_executor_exit_is_failure and not task.terminal:
                task.executor_known = True
            if returning and self.mesos.forwards_reregistered_tasks:
                self._send_master_update(fw, task, task.state, "REASON_AGENT_REREGISTERED",
                                         "Unreachable agent re-reregistered")
        for fw in self.frameworks.values():
            for task_id in [t for t, task in fw.unreachable_tasks.items()
                            if task.agent_id == agent.id]:
                del fw.unreachable_tasks[task_id]
        agent.resend_pending()

    # -- leaving for good ------------------------------------------------------------------

    def remove_agent(self, agent_id: str) -> None:
        """The agent leaves for good: marked gone (1.8.x), or unregistered / garbage
        collected (1.4.3)."""
        with self.lock:
            agent = self._agent(agent_id)
            self._rescind_agent_offers(agent)
            registered = agent.state in REGISTERED
            if self.mesos.marks_agents_gone:
                self.gone_agents[agent.id] = time.time()
                message = "Agent has been marked gone"
                ends = registered or (agent.state == "unreachable"
                                      and self.mesos.gone_unreachable_agent_ends_tasks)
                aware_state = ("TASK_GONE_BY_OPERATOR", "REASON_AGENT_REMOVED_BY_OPERATOR")
            else:
                message = f"Agent {agent.spec.hostname} removed: the agent unregistered"
                ends = registered
                aware_state = ("TASK_LOST", "REASON_AGENT_REMOVED")
            agent.go_down("inactive", None)  # it shuts down: every executor is killed
            if ends:
                for fw in self.frameworks.values():
                    for task in [t for t in [*fw.tasks.values(), *fw.unreachable_tasks.values()]
                                 if t.agent_id == agent.id]:
                        state, reason = aware_state if fw.partition_aware else (
                            "TASK_LOST", "REASON_AGENT_REMOVED")
                        self._end_with_agent(agent, task, state, reason, message)
            if registered:
                self._broadcast_failure(agent)
            agent.state = "removed"
            for fw in self.frameworks.values():
                for tasks in (fw.tasks, fw.unreachable_tasks):
                    for task_id in [t for t, task in tasks.items() if task.agent_id == agent.id]:
                        del tasks[task_id]
            del self.agents[agent_id]

    # -- master failover -------------------------------------------------------------------

    def _recover_agents(self) -> None:
        """A new leading master: registered agents become recovered until they
        re-register (within `agent_reregister_delay_s`) or time out."""
        self._recovery += 1
        recovery = self._recovery
        for agent in self.agents.values():
            if agent.state not in REGISTERED:
                continue
            agent.state = "recovered"
            self.timers.call_later(self.options.agent_reregister_delay_s,
                                   lambda a=agent: self._recovered_agent_back(a, recovery))
            self.timers.call_later(self.options.agent_reregister_timeout_s,
                                   lambda a=agent: self._recovered_agent_timeout(a, recovery))

    def _recovered_agent_back(self, agent: SimulatedAgent, recovery: int) -> None:
        with self.lock:
            if recovery == self._recovery and agent.state == "recovered" \
                    and agent.unit_state == "active" and not agent.partitioned:
                self._reregister(agent)

    def _recovered_agent_timeout(self, agent: SimulatedAgent, recovery: int) -> None:
        with self.lock:
            if recovery == self._recovery and agent.state == "recovered":
                agent.state = "unreachable"
                agent.unreachable_since = time.time()
                self._broadcast_failure(agent)

    # -- helpers ---------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> SimulatedAgent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise CallError(404, f"unknown agent '{agent_id}'")
        return agent

    def _forget(self, agent: SimulatedAgent, task: AgentTask) -> None:
        task.pending_updates.clear()
        agent.tasks.pop(task.task_id, None)
        agent.free.setdefault(task.role, Resources()).add(task.resources)

    def _end_with_agent(self, agent: SimulatedAgent, task: AgentTask, state: str,
                        reason: str, message: str) -> None:
        """The master ends a task that went down with its agent and tells the framework."""
        task.state = state
        self._forget(agent, task)  # the agent lost its updates with the executor
        self.task_terminal(task)
        fw = self.frameworks.get(task.framework_id)
        if fw is not None:
            fw.tasks.pop(task.task_id, None)
            fw.unreachable_tasks.pop(task.task_id, None)
            self._send_master_update(fw, task, state, reason, message)

    def _broadcast_failure(self, agent: SimulatedAgent) -> None:
        """`sendSlaveLost`: FAILURE with the agent id to every connected framework."""
        for fw in self.frameworks.values():
            if fw.connected:
                fw.subscription.send({"type": "FAILURE",
                                      "failure": {"agent_id": {"value": agent.id}}})
