"""The Mesos master emulator's core: frameworks, offers, tasks, agents and their events.

Bookkeeping under one lock; `devcluster.master_http` turns HTTP requests into calls on
it and `devcluster.allocator` decides who is offered what.
Behaviour follows the v1 scheduler API (docs/scheduler-http-api.md, scheduler.proto):
offers hold resources until accepted, declined or rescinded; DECLINE filters last
`refuse_seconds` per framework, agent and role; SUPPRESS stops offers until REVIVE;
updates are delivered reliably by the agents until acknowledged; a framework that does
not re-subscribe within its `failover_timeout` is removed and its tasks killed.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import uuid
from pathlib import Path

from devcluster.agent import AgentSpec, AgentTask, SimulatedAgent
from devcluster.allocator import allocatable, offer_json, pick_framework
from devcluster.errors import CallError, TaskInvalid
from devcluster.protocol import Resources
from devcluster.records import Faults, Framework, MasterOptions, Offer, Subscription
from devcluster.timers import Timers
from devcluster.validation import framework_info_problem, id_problem, validate_task

log = logging.getLogger(__name__)

MESOS_VERSION = "1.12.0"
DEFAULT_REFUSE_S = 5.0


class Master:
    """One leading master with its agents; every method takes `lock` itself."""

    def __init__(self, work_dir: Path, options: MasterOptions | None = None,
                 events_file: Path | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.options = options or MasterOptions()
        self.events_file = events_file
        self.lock = threading.RLock()
        self.timers = Timers()
        self.faults = Faults()
        self.master_id = str(uuid.uuid4())
        self.start_time = time.time()
        self.elected_time = self.start_time
        self.unavailable_until = 0.0
        self.address = ("127.0.0.1", 5050)
        self.agents: dict[str, SimulatedAgent] = {}
        self.frameworks: dict[str, Framework] = {}
        self.removed_frameworks: dict[str, Framework] = {}
        self.offers: dict[str, Offer] = {}
        self._framework_seq = 0
        self._offer_seq = 0
        self._agent_seq = 0
        self._stopped = threading.Event()
        self._allocator = threading.Thread(target=self._allocation_loop, daemon=True,
                                           name="devcluster-allocator")

    def start(self) -> None:
        self._allocator.start()

    def stop(self) -> None:
        self._stopped.set()
        with self.lock:
            for fw in self.frameworks.values():
                if fw.subscription:
                    fw.subscription.close()
            for agent in self.agents.values():
                agent.kill_all()
        self.timers.stop()

    # -- agents --------------------------------------------------------------------------

    def next_agent_id(self) -> str:
        with self.lock:
            agent_id = f"{self.master_id}-S{self._agent_seq}"
            self._agent_seq += 1
            return agent_id

    def add_agent(self, spec: AgentSpec, host_env: dict[str, str]) -> SimulatedAgent:
        with self.lock:
            agent = SimulatedAgent(self, spec, host_env)
            self.agents[spec.id] = agent
            return agent

    def agent_unit_action(self, agent_id: str, action: str,
                          duration_s: float | None = None) -> None:
        """`systemctl <action> dcos-mesos-slave[-public]` on a simulated host."""
        with self.lock:
            agent = self._agent(agent_id)
            unit = agent.unit
            if action not in ("restart", "stop", "start"):
                raise CallError(400, f"unknown unit action '{action}'")
            self._host_event(agent, unit, action, "begin", True)
            if action in ("restart", "stop") and agent.state == "active":
                agent.unit_restarts += action == "restart"
                self._agent_down(agent, "restarting" if action == "restart" else "stopped")
            if action == "stop":
                self._host_event(agent, unit, action, "end", True)
                return
            delay = self.options.agent_restart_s if duration_s is None else duration_s
            if action == "start" and agent.state == "active":
                delay = 0.0
            self.timers.call_later(delay, lambda: self._agent_unit_up(agent, unit, action))

    def _agent_unit_up(self, agent: SimulatedAgent, unit: str, action: str) -> None:
        with self.lock:
            if agent.state in ("restarting", "stopped"):
                self._agent_reregistered(agent)
            self._host_event(agent, unit, action, "end", agent.state == "active")

    def agent_unit_state(self, agent_id: str) -> dict:
        with self.lock:
            agent = self._agent(agent_id)
            active = {"active": "active", "restarting": "activating"}.get(agent.state, "inactive")
            return {"unit": agent.unit, "active_state": active,
                    "active_since": agent.unit_active_since, "restarts": agent.unit_restarts}

    def lose_agent(self, agent_id: str) -> None:
        """A network partition: the master marks the agent unreachable; its tasks go on."""
        with self.lock:
            agent = self._agent(agent_id)
            if agent.state != "active":
                return
            agent.state = "unreachable"
            agent.unreachable_since = time.time()
            self._rescind_agent_offers(agent)
            for task in list(agent.tasks.values()):
                if task.terminal:
                    continue
                fw = self.frameworks.get(task.framework_id)
                if fw is not None:
                    state = "TASK_UNREACHABLE" if fw.partition_aware else "TASK_LOST"
                    self._send_master_update(fw, task, state, "REASON_AGENT_REMOVED",
                                             f"Agent {agent.spec.hostname} is unreachable")
            self._broadcast_failure(agent)

    def restore_agent(self, agent_id: str) -> None:
        with self.lock:
            agent = self._agent(agent_id)
            if agent.state == "unreachable":
                self._agent_reregistered(agent, after_partition=True)

    def remove_agent(self, agent_id: str) -> None:
        """The agent is gone for good (operator marked it gone, or it was decommissioned)."""
        with self.lock:
            agent = self._agent(agent_id)
            self._rescind_agent_offers(agent)
            for task in agent.go_down("removed", checkpointed=set()):
                self._end_with_agent(agent, task, "TASK_GONE_BY_OPERATOR",
                                     "REASON_AGENT_REMOVED_BY_OPERATOR", "Agent was removed")
            self._broadcast_failure(agent)
            del self.agents[agent_id]

    def _agent(self, agent_id: str) -> SimulatedAgent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise CallError(404, f"unknown agent '{agent_id}'")
        return agent

    def _agent_down(self, agent: SimulatedAgent, state: str) -> None:
        """The agent process stops: its connection breaks. Tasks of frameworks without
        checkpointing die with their executors and the master reports them at once
        (TASK_GONE, or TASK_LOST without PARTITION_AWARE); checkpointed ones live on."""
        self._rescind_agent_offers(agent)
        checkpointed = {fid for fid, fw in self.frameworks.items() if fw.info.get("checkpoint")}
        for task in agent.go_down(state, checkpointed):
            self._end_with_agent(agent, task, "TASK_GONE", "REASON_AGENT_DISCONNECTED",
                                 f"Agent {agent.spec.hostname} disconnected")

    def _end_with_agent(self, agent: SimulatedAgent, task: AgentTask, partition_aware_state: str,
                        reason: str, message: str) -> None:
        """The master ends a task that went down with its agent and tells the framework."""
        fw = self.frameworks.get(task.framework_id)
        aware = fw is not None and fw.partition_aware
        task.state = partition_aware_state if aware else "TASK_LOST"
        task.pending_updates.clear()  # the agent lost them with the executor
        agent.tasks.pop(task.task_id, None)
        agent.free.setdefault(task.role, Resources()).add(task.resources)
        self.task_terminal(task)
        if fw is not None:
            fw.tasks.pop(task.task_id, None)
            self._send_master_update(fw, task, task.state, reason, message)

    def _agent_reregistered(self, agent: SimulatedAgent, after_partition: bool = False) -> None:
        agent.come_up()
        if after_partition:
            for task in list(agent.tasks.values()):
                fw = self.frameworks.get(task.framework_id)
                if fw is not None and not task.terminal:
                    self._send_master_update(fw, task, task.state, "REASON_AGENT_REREGISTERED",
                                             "Agent reregistered")
        agent.resend_pending()

    def _broadcast_failure(self, agent: SimulatedAgent) -> None:
        for fw in self.frameworks.values():
            if fw.connected:
                fw.subscription.send({"type": "FAILURE",
                                      "failure": {"agent_id": {"value": agent.id}}})

    def _host_event(self, agent: SimulatedAgent, unit: str, action: str, phase: str,
                    ok: bool) -> None:
        if self.events_file is None:
            return
        from devcluster.host.events import append_event

        append_event(self.events_file, agent_id=agent.id, hostname=agent.spec.hostname,
                     unit=unit, action=action, phase=phase, ok=ok)

    # -- frameworks --------------------------------------------------------------------------

    def subscribe(self, call: dict, authenticated_principal: str | None) -> Subscription:
        with self.lock:
            if time.time() < self.unavailable_until:
                raise CallError(503, "Master is not the leader yet")
            body = call.get("subscribe")
            if not isinstance(body, dict) or not isinstance(body.get("framework_info"), dict):
                raise CallError(400, "Expecting 'subscribe' to be present")
            info = dict(body["framework_info"])
            for key in ("user", "name"):
                if not isinstance(info.get(key), str):
                    raise CallError(400, f"Failed to validate scheduler::Call: "
                                         f"'framework_info.{key}' is required")
            if authenticated_principal is not None and info.get("principal") not in (
                    None, authenticated_principal):
                raise CallError(403, "Framework principal does not match the authenticated one")
            info_id = (info.get("id") or {}).get("value")
            call_id = (call.get("framework_id") or {}).get("value")
            if info_id != call_id:
                raise CallError(400, "'framework_id' differs from 'subscribe.framework_info.id'")
            if info_id is not None and id_problem(info_id):
                raise CallError(400, f"Invalid framework id: {id_problem(info_id)}")
            subscription = Subscription(stream_id=str(uuid.uuid4()))
            problem = framework_info_problem(info)
            if info_id in self.removed_frameworks:
                problem = "Framework has been removed"
            if problem is not None:
                # Refused subscriptions get one ERROR event in lieu of SUBSCRIBED.
                subscription.send({"type": "ERROR", "error": {"message": problem}})
                subscription.close()
                return subscription
            fw = self.frameworks.get(info_id) if info_id else None
            if info_id and fw is None:
                fw = Framework(id=info_id, info=info)
                self.frameworks[info_id] = fw
            elif fw is None:
                fw = Framework(id=f"{self.master_id}-{self._framework_seq:04d}", info=info)
                self._framework_seq += 1
                self.frameworks[fw.id] = fw
            else:
                if fw.subscription is not None:
                    fw.subscription.send({"type": "ERROR",
                                          "error": {"message": "Framework failed over"}})
                    fw.subscription.close()
                self._recover_framework_offers(fw)
                fw.reregistered_time = time.time()
            info["id"] = {"value": fw.id}
            subscription.framework_id = fw.id
            fw.info = info
            fw.subscription = subscription
            fw.disconnect_generation += 1
            fw.suppressed_roles = set(body.get("suppressed_roles") or [])
            subscription.send({"type": "SUBSCRIBED", "subscribed": {
                "framework_id": {"value": fw.id},
                "heartbeat_interval_seconds": self.options.heartbeat_interval_s,
                "master_info": self.master_info(),
            }})
            self._schedule_heartbeat(fw, subscription)
            log.info("framework %s (%s) subscribed", fw.id, info.get("name"))
            return subscription

    def _schedule_heartbeat(self, fw: Framework, subscription: Subscription) -> None:
        def beat() -> None:
            with self.lock:
                if fw.subscription is subscription and not subscription.closed:
                    subscription.send({"type": "HEARTBEAT"})
                    self._schedule_heartbeat(fw, subscription)
        self.timers.call_later(self.options.heartbeat_interval_s, beat)

    def stream_closed(self, framework_id: str, subscription: Subscription) -> None:
        """The scheduler's connection went away: start its failover timeout."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is None or fw.subscription is not subscription:
                return
            subscription.close()
            fw.subscription = None
            fw.unregistered_time = time.time()
            self._recover_framework_offers(fw)
            fw.disconnect_generation += 1
            generation = fw.disconnect_generation
            timeout = float(fw.info.get("failover_timeout", 0.0))
            log.info("framework %s disconnected; failover timeout %.1fs", fw.id, timeout)

            def expire() -> None:
                with self.lock:
                    if fw.disconnect_generation == generation and not fw.connected \
                            and fw.id in self.frameworks:
                        log.info("framework %s did not fail over in time; removing it", fw.id)
                        self._remove_framework(fw)
            self.timers.call_later(timeout, expire)

    def teardown_framework(self, framework_id: str) -> None:
        """The operator's /master/teardown: remove the framework and kill its tasks."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is None:
                raise CallError(400, "No framework found with specified ID")
            log.info("framework %s torn down by the operator", fw.id)
            self._remove_framework(fw)

    def _remove_framework(self, fw: Framework) -> None:
        self._recover_framework_offers(fw)
        for task in list(fw.tasks.values()):
            agent = self.agents.get(task.agent_id)
            if agent is not None:
                agent.kill(task, killing_state=False, grace_s=0.0)
        if fw.subscription is not None:
            fw.subscription.close()
        del self.frameworks[fw.id]
        self.removed_frameworks[fw.id] = fw

    def check_stream(self, call: dict, stream_id: str | None) -> Framework:
        framework_id = (call.get("framework_id") or {}).get("value")
        if not isinstance(framework_id, str):
            raise CallError(400, "Expecting 'framework_id' to be present")
        fw = self.frameworks.get(framework_id)
        if fw is None or not fw.connected:
            raise CallError(403, "Framework is not subscribed")
        if stream_id != fw.subscription.stream_id:
            raise CallError(400, "The stream ID included in this request didn't match the "
                                 "stream ID currently associated with framework ID "
                                 f"{framework_id}")
        return fw

    def handle_call(self, call: dict, stream_id: str | None) -> None:
        kind = call.get("type")
        handlers = {
            "TEARDOWN": self._teardown, "ACCEPT": self._accept, "DECLINE": self._decline,
            "REVIVE": self._revive, "SUPPRESS": self._suppress, "KILL": self._kill,
            "ACKNOWLEDGE": self._acknowledge, "RECONCILE": self._reconcile,
            "UPDATE_FRAMEWORK": self._update_framework,
            # Accepted without effect: no custom executors, inverse offers or operations
            # exist in the emulator, and REQUEST has been a no-op in Mesos for long.
            **dict.fromkeys(("MESSAGE", "REQUEST", "SHUTDOWN", "ACCEPT_INVERSE_OFFERS",
                             "DECLINE_INVERSE_OFFERS", "ACKNOWLEDGE_OPERATION_STATUS",
                             "RECONCILE_OPERATIONS"), _no_effect),
        }
        if kind not in handlers:
            raise CallError(400, f"Failed to validate scheduler::Call: unsupported type {kind!r}")
        with self.lock:
            if time.time() < self.unavailable_until:
                raise CallError(503, "Master is not the leader yet")
            fw = self.check_stream(call, stream_id)
            handlers[kind](fw, call)

    def _update_framework(self, fw: Framework, call: dict) -> None:
        """UPDATE_FRAMEWORK: new FrameworkInfo (same id) and suppressed roles; outstanding
        offers are rescinded so that the next ones follow the new roles."""
        body = call.get("update_framework")
        if not isinstance(body, dict) or not isinstance(body.get("framework_info"), dict):
            raise CallError(400, "Expecting 'update_framework' to be present")
        info = dict(body["framework_info"])
        if (info.get("id") or {}).get("value") != fw.id:
            raise CallError(400, "'update_framework.framework_info.id' is not the caller's")
        problem = framework_info_problem(info)
        if problem is not None:
            raise CallError(400, f"Invalid FrameworkInfo: {problem}")
        fw.info = info
        fw.suppressed_roles = set(body.get("suppressed_roles") or [])
        for offer_id in list(fw.offers):
            self.rescind(offer_id)

    def _teardown(self, fw: Framework, call: dict) -> None:
        log.info("framework %s torn down", fw.id)
        self._remove_framework(fw)

    def _accept(self, fw: Framework, call: dict) -> None:
        accept = call.get("accept")
        if not isinstance(accept, dict):
            raise CallError(400, "Expecting 'accept' to be present")
        offer_ids = [o.get("value") for o in accept.get("offer_ids") or [] if isinstance(o, dict)]
        if not offer_ids:
            raise CallError(400, "Failed to validate scheduler::Call: no offer ids")
        refuse_s = _refuse_seconds(accept.get("filters"))
        operations = accept.get("operations") or []
        if not isinstance(operations, list):
            raise CallError(400, "'operations' must be a list")
        tasks = []
        for op in operations:
            if not isinstance(op, dict) or op.get("type") != "LAUNCH":
                kind = op.get("type") if isinstance(op, dict) else op
                raise CallError(400, f"unsupported offer operation {kind!r}")
            infos = (op.get("launch") or {}).get("task_infos")
            if not isinstance(infos, list):
                raise CallError(400, "LAUNCH needs 'launch.task_infos'")
            tasks.extend(infos)
        offers, problem = self._take_offers(fw, offer_ids)
        if problem is not None:
            for offer in offers:
                self._recover_offer(offer)
            state = "TASK_DROPPED" if fw.partition_aware else "TASK_LOST"
            for info in tasks:
                self._send_invalid(fw, info, state, "REASON_INVALID_OFFERS",
                                   f"Task launched with invalid offers: {problem}")
            return
        agent = self.agents[offers[0].agent_id]
        available: dict[str, Resources] = {}
        for offer in offers:
            available.setdefault(offer.role, Resources()).add(offer.resources)
        for info in tasks:
            try:
                role, needed = validate_task(info, agent.id, fw.tasks, available)
            except TaskInvalid as err:
                self._send_invalid(fw, info, "TASK_ERROR", "REASON_TASK_INVALID", str(err))
                continue
            available[role].subtract(needed)
            self._launch(fw, agent, info, role, needed)
        for role, leftover in available.items():
            if not leftover.is_empty():
                agent.free.setdefault(role, Resources()).add(leftover)
            fw.filters[(agent.id, role)] = time.time() + refuse_s

    def _take_offers(self, fw: Framework, offer_ids: list[str]) -> tuple[list[Offer], str | None]:
        offers, problem = [], None
        for offer_id in offer_ids:
            offer = fw.offers.pop(offer_id, None)
            if offer is None:
                problem = problem or f"Offer {offer_id} is no longer valid"
                continue
            self.offers.pop(offer_id, None)
            offers.append(offer)
        if problem is None and len({o.agent_id for o in offers}) > 1:
            problem = "Aggregated offers must belong to one single agent"
        if problem is None and offers[0].agent_id not in self.agents:
            problem = f"Agent {offers[0].agent_id} is not available"
        return offers, problem

    def _launch(self, fw: Framework, agent: SimulatedAgent, info: dict, role: str,
                needed: Resources) -> None:
        task_id = info["task_id"]["value"]
        sandbox = agent.spec.work_dir / "sandboxes" / fw.id / task_id
        task = AgentTask(task_id=task_id, name=info["name"], framework_id=fw.id,
                         agent_id=agent.id, role=role, resources=needed, info=info,
                         sandbox=sandbox)
        fw.tasks[task_id] = task
        agent.launch(task)

    def _send_invalid(self, fw: Framework, info: dict, state: str, reason: str,
                      message: str) -> None:
        task_id = (info.get("task_id") or {}).get("value") or ""
        status = {"task_id": {"value": task_id}, "state": state, "reason": reason,
                  "source": "SOURCE_MASTER", "message": message, "timestamp": time.time()}
        agent_id = (info.get("agent_id") or {}).get("value")
        if agent_id:
            status["agent_id"] = {"value": agent_id}
        fw.subscription.send({"type": "UPDATE", "update": {"status": status}})

    def _decline(self, fw: Framework, call: dict) -> None:
        decline = call.get("decline")
        if not isinstance(decline, dict):
            raise CallError(400, "Expecting 'decline' to be present")
        refuse_s = _refuse_seconds(decline.get("filters"))
        for item in decline.get("offer_ids") or []:
            offer = fw.offers.pop((item or {}).get("value"), None)
            if offer is None:
                continue
            self.offers.pop(offer.id, None)
            self._recover_offer(offer)
            fw.filters[(offer.agent_id, offer.role)] = time.time() + refuse_s

    def _revive(self, fw: Framework, call: dict) -> None:
        roles = set((call.get("revive") or {}).get("roles") or fw.roles)
        fw.suppressed_roles -= roles
        fw.filters = {k: v for k, v in fw.filters.items() if k[1] not in roles}

    def _suppress(self, fw: Framework, call: dict) -> None:
        fw.suppressed_roles |= set((call.get("suppress") or {}).get("roles") or fw.roles)

    def _kill(self, fw: Framework, call: dict) -> None:
        kill = call.get("kill")
        task_id = ((kill or {}).get("task_id") or {}).get("value")
        if not isinstance(task_id, str):
            raise CallError(400, "Expecting 'kill.task_id' to be present")
        task = fw.tasks.get(task_id)
        if task is None or task.terminal:
            self._reconcile(fw, {"reconcile": {"tasks": [kill]}})
            return
        agent = self.agents.get(task.agent_id)
        if agent is not None:
            grace = ((kill.get("kill_policy") or {}).get("grace_period") or {}).get("nanoseconds")
            agent.kill(task, "TASK_KILLING_STATE" in fw.capabilities,
                       grace / 1e9 if isinstance(grace, (int, float)) else None)

    def _acknowledge(self, fw: Framework, call: dict) -> None:
        ack = call.get("acknowledge")
        if not isinstance(ack, dict):
            raise CallError(400, "Expecting 'acknowledge' to be present")
        agent_id = (ack.get("agent_id") or {}).get("value")
        task_id = (ack.get("task_id") or {}).get("value")
        raw_uuid = ack.get("uuid")
        if not (isinstance(agent_id, str) and isinstance(task_id, str)
                and isinstance(raw_uuid, str)):
            raise CallError(400, "ACKNOWLEDGE needs agent_id, task_id and uuid")
        try:
            if len(base64.b64decode(raw_uuid, validate=True)) != 16:
                raise ValueError
        except (binascii.Error, ValueError) as err:
            raise CallError(400, "Failed to validate scheduler::Call: 'uuid' is not a "
                                 "valid UUID") from err
        agent = self.agents.get(agent_id)
        if agent is not None and agent.connected:
            agent.acknowledge(task_id, raw_uuid)
            task = fw.tasks.get(task_id)
            if task is not None and task.terminal and task_id not in agent.tasks:
                fw.tasks.pop(task_id, None)

    def _reconcile(self, fw: Framework, call: dict) -> None:
        items = (call.get("reconcile") or {}).get("tasks") or []
        if not isinstance(items, list):
            raise CallError(400, "'reconcile.tasks' must be a list")
        if not items:
            for task in list(fw.tasks.values()):
                self._send_master_update(fw, task, self._reported_state(fw, task),
                                         "REASON_RECONCILIATION",
                                         "Reconciliation: Latest task state")
            return
        for item in items:
            task_id = ((item or {}).get("task_id") or {}).get("value")
            if not isinstance(task_id, str):
                raise CallError(400, "each reconciled task needs a 'task_id'")
            task = fw.tasks.get(task_id) or _completed(fw, task_id)
            if task is not None:
                self._send_master_update(fw, task, self._reported_state(fw, task),
                                         "REASON_RECONCILIATION",
                                         "Reconciliation: Latest task state")
                continue
            agent_id = ((item or {}).get("agent_id") or {}).get("value")
            agent = self.agents.get(agent_id) if agent_id else None
            if agent is not None and agent.state == "unreachable":
                state = "TASK_UNREACHABLE" if fw.partition_aware else "TASK_LOST"
            elif agent is not None:
                state = "TASK_GONE" if fw.partition_aware else "TASK_LOST"
            else:
                state = "TASK_UNKNOWN" if fw.partition_aware else "TASK_LOST"
            status = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_MASTER",
                      "reason": "REASON_RECONCILIATION", "timestamp": time.time(),
                      "message": "Reconciliation: Task is unknown"}
            if agent_id:
                status["agent_id"] = {"value": agent_id}
            fw.subscription.send({"type": "UPDATE", "update": {"status": status}})

    def _reported_state(self, fw: Framework, task: AgentTask) -> str:
        """What the master knows: a live task on a partitioned agent is unreachable."""
        agent = self.agents.get(task.agent_id)
        if not task.terminal and agent is not None and agent.state == "unreachable":
            return "TASK_UNREACHABLE" if fw.partition_aware else "TASK_LOST"
        return task.state

    def _send_master_update(self, fw: Framework, task: AgentTask, state: str, reason: str,
                            message: str) -> None:
        if not fw.connected:
            return
        status = {"task_id": {"value": task.task_id}, "state": state,
                  "source": "SOURCE_MASTER", "reason": reason, "message": message,
                  "agent_id": {"value": task.agent_id}, "timestamp": time.time()}
        if task.healthy is not None and state == "TASK_RUNNING":
            status["healthy"] = task.healthy
        agent = self.agents.get(task.agent_id)
        if state == "TASK_UNREACHABLE" and agent is not None and agent.unreachable_since:
            status["unreachable_time"] = {"nanoseconds": int(agent.unreachable_since * 1e9)}
        fw.subscription.send({"type": "UPDATE", "update": {"status": status}})

    # -- updates from agents --------------------------------------------------------------------

    def forward_update(self, framework_id: str, status: dict) -> None:
        fw = self.frameworks.get(framework_id)
        if fw is None or not fw.connected:
            return
        event = {"type": "UPDATE", "update": {"status": status}}
        subscription = fw.subscription
        copies = 2 if self.faults.duplicate_updates else 1
        delay = self.faults.update_delay_s
        for _ in range(copies):
            if delay > 0:
                self.timers.call_later(delay, lambda: subscription.send(event))
            else:
                subscription.send(event)

    def task_terminal(self, task: AgentTask) -> None:
        fw = self.frameworks.get(task.framework_id)
        if fw is not None:
            fw.completed_tasks.append(task)

    # -- offers ----------------------------------------------------------------------------------

    def _allocation_loop(self) -> None:
        while not self._stopped.wait(self.options.allocation_interval_s):
            try:
                self.allocate()
            except Exception:
                log.exception("allocation cycle failed")

    def allocate(self) -> int:
        """One allocation cycle; returns the number of offers made."""
        now = time.time()
        made = 0
        with self.lock:
            frameworks = [fw for fw in self.frameworks.values() if fw.connected]
            if not frameworks:
                return 0
            batches: dict[str, list[dict]] = {}
            for agent in self.agents.values():
                if not agent.connected:
                    continue
                # Rotate who is asked first with every offer: no framework starves others.
                start = self._offer_seq % len(frameworks)
                rotated = frameworks[start:] + frameworks[:start]
                for role, free in agent.free.items():
                    if free.is_empty() or not allocatable(free):
                        continue
                    picked = pick_framework(rotated, agent.id, role, now)
                    if picked is None:
                        continue
                    fw, alloc_role = picked
                    offer = Offer(id=f"{self.master_id}-O{self._offer_seq}", framework_id=fw.id,
                                  agent_id=agent.id, role=role, resources=free)
                    self._offer_seq += 1
                    agent.free[role] = Resources()
                    fw.offers[offer.id] = offer
                    self.offers[offer.id] = offer
                    batches.setdefault(fw.id, []).append(
                        offer_json(offer, agent, alloc_role, fw))
                    made += 1
                    if self.options.offer_timeout_s is not None:
                        self.timers.call_later(self.options.offer_timeout_s,
                                               lambda offer_id=offer.id: self.rescind(offer_id))
            for fw_id, offers in batches.items():
                self.frameworks[fw_id].subscription.send(
                    {"type": "OFFERS", "offers": {"offers": offers}})
        return made

    def _recover_offer(self, offer: Offer) -> None:
        agent = self.agents.get(offer.agent_id)
        if agent is not None:
            agent.free.setdefault(offer.role, Resources()).add(offer.resources)

    def _recover_framework_offers(self, fw: Framework) -> None:
        for offer in list(fw.offers.values()):
            self.offers.pop(offer.id, None)
            self._recover_offer(offer)
        fw.offers.clear()

    def _rescind_agent_offers(self, agent: SimulatedAgent) -> None:
        for offer in [o for o in self.offers.values() if o.agent_id == agent.id]:
            self.rescind(offer.id)

    def rescind(self, offer_id: str) -> None:
        with self.lock:
            offer = self.offers.pop(offer_id, None)
            if offer is None:
                return
            fw = self.frameworks.get(offer.framework_id)
            if fw is not None:
                fw.offers.pop(offer_id, None)
                if fw.connected:
                    fw.subscription.send({"type": "RESCIND",
                                          "rescind": {"offer_id": {"value": offer_id}}})
            self._recover_offer(offer)

    # -- master-level faults -------------------------------------------------------------------

    def drop_stream(self, framework_id: str) -> None:
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is None or fw.subscription is None:
                raise CallError(404, f"framework '{framework_id}' has no stream")
            self.stream_closed(framework_id, fw.subscription)

    def fail_over(self) -> None:
        """A new leading master: new id, streams closed, offers and filters forgotten."""
        with self.lock:
            self.master_id = str(uuid.uuid4())
            self.elected_time = time.time()
            self.unavailable_until = time.time() + self.options.failover_unavailable_s
            self.removed_frameworks.clear()
            for fw in self.frameworks.values():
                self._recover_framework_offers(fw)
                fw.filters.clear()
                if fw.subscription is not None:
                    fw.subscription.close()
                    fw.subscription = None
                fw.disconnect_generation += 1

    def master_info(self) -> dict:
        host, port = self.address
        return {"id": self.master_id, "ip": _ip_as_uint32(host), "port": port,
                "hostname": host, "version": MESOS_VERSION,
                "address": {"hostname": host, "ip": host, "port": port},
                "pid": f"master@{host}:{port}"}


def _refuse_seconds(filters: object) -> float:
    if isinstance(filters, dict) and isinstance(filters.get("refuse_seconds"), (int, float)):
        return max(float(filters["refuse_seconds"]), 0.0)
    return DEFAULT_REFUSE_S


def _completed(fw: Framework, task_id: str) -> AgentTask | None:
    return next((t for t in reversed(fw.completed_tasks) if t.task_id == task_id), None)


def _ip_as_uint32(ip: str) -> int:
    a, b, c, d = (int(p) for p in ip.split("."))
    return a | b << 8 | c << 16 | d << 24


def _no_effect(fw: Framework, call: dict) -> None:
    """A call the master accepts (202) that changes nothing here."""
