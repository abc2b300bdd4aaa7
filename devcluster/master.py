"""The Mesos master emulator's core: frameworks, calls, offers and task updates.

Bookkeeping under one lock; `devcluster.master_http` turns HTTP requests into calls on
it, `devcluster.allocator` decides who is offered what, `devcluster.lifecycle` (mixed in)
handles agents coming and going and master failover, `devcluster.reconcile` answers
reconciliation. It answers as the Mesos build named by `MasterOptions.version` does
(`devcluster.versions`); master.cpp and http.cpp below mean apache/mesos `src/master/` at
1.4.3 and at 1.8.x (bb32bf87), the same in both unless a version field says otherwise.

- SUBSCRIBE (`Master::subscribe`): SUBSCRIBED, then a HEARTBEAT at once and every 15 s
  (1.4.3 master.hpp `Heartbeater::initialize`, 1.8.x common/heartbeater.hpp); a framework
  that does not re-subscribe within its `failover_timeout` is removed with its tasks.
- Other calls (http.cpp `Master::Http::scheduler`): an unknown framework is 400
  "Framework cannot be found", a disconnected one 403; REVIVE and SUPPRESS naming a role
  the framework is not subscribed to are dropped (`Master::revive`, `Master::suppress`).
- Offers hold resources until accepted, declined or rescinded (`--offer_timeout`);
  ACCEPT and DECLINE refuse the unused resources for `refuse_seconds` (default 5).
- KILL of a task the master does not know is answered by reconciliation and forgotten
  (`Master::kill`); of a task on a disconnected agent, retried when it re-registers.
- Updates are delivered reliably by the agents until acknowledged; an acknowledged
  terminal task leaves the framework's current tasks.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

from devcluster import reconcile
from devcluster.agent import AgentSpec, MasterLink, SimulatedAgent
from devcluster.allocator import (
    Allocation,
    add_filter,
    allocatable,
    offer_json,
    refuse_seconds,
)
from devcluster.errors import CallError, TaskInvalid
from devcluster.lifecycle import AgentLifecycle
from devcluster.master_records import (
    AgentTask,
    Faults,
    Framework,
    MasterOptions,
    Offer,
    Subscription,
)
from devcluster.protocol import Resources
from devcluster.timers import Timers
from devcluster.validation import (
    framework_info_problem,
    id_problem,
    role_problem,
    validate_task,
)

log = logging.getLogger(__name__)


class Master(AgentLifecycle):
    """One leading master with its agents; every method takes `lock` itself."""

    def __init__(self, work_dir: Path, options: MasterOptions | None = None,
                 events_file: Path | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.options = options or MasterOptions()
        self.mesos = self.options.mesos
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
        self.gone_agents: dict[str, float] = {}
        self.frameworks: dict[str, Framework] = {}
        self.removed_frameworks: dict[str, Framework] = {}
        self.offers: dict[str, Offer] = {}
        self._framework_seq = 0
        self._offer_seq = 0
        self._agent_seq = 0
        self._recovery = 0
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
            agent = SimulatedAgent(self._agent_link(), spec, host_env)
            self.agents[spec.id] = agent
            return agent

    def _agent_link(self) -> MasterLink:
        return MasterLink(
            lock=self.lock, mesos=self.mesos, status_retry_s=self.options.status_retry_s,
            call_later=self.timers.call_later,
            take_fetch_failure=self.faults.take_fetch_failure,
            forward_update=self.forward_update, task_ended=self.task_terminal,
            executor_exited=self.executor_exited,
            framework_removed=lambda framework_id: framework_id in self.removed_frameworks,
            wants_killing_state=self._wants_killing_state)

    def _wants_killing_state(self, framework_id: str) -> bool:
        fw = self.frameworks.get(framework_id)
        return fw is not None and "TASK_KILLING_STATE" in fw.capabilities

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
            self.check_leading()
            info = dict(call["subscribe"]["framework_info"])
            if authenticated_principal is not None and info.get("principal") not in (
                    None, authenticated_principal):
                raise CallError(400, "Failed to validate scheduler::Call: Authenticated "
                                     f"principal '{authenticated_principal}' does not match "
                                     f"principal '{info.get('principal')}' set in "
                                     "`FrameworkInfo`")
            info_id = (info.get("id") or {}).get("value")
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
            fw.suppressed_roles = set(call["subscribe"].get("suppressed_roles") or [])
            subscription.send({"type": "SUBSCRIBED", "subscribed": {
                "framework_id": {"value": fw.id},
                "heartbeat_interval_seconds": self.options.heartbeat_interval_s,
                "master_info": self.master_info(),
            }})
            self._heartbeat(fw, subscription)
            log.info("framework %s (%s) subscribed", fw.id, info.get("name"))
            return subscription

    def _heartbeat(self, fw: Framework, subscription: Subscription) -> None:
        """The heartbeater sends one at once, then one every interval."""
        if fw.subscription is subscription and not subscription.closed:
            subscription.send({"type": "HEARTBEAT"})
            self.timers.call_later(self.options.heartbeat_interval_s,
                                   lambda: self._beat_later(fw, subscription))

    def _beat_later(self, fw: Framework, subscription: Subscription) -> None:
        with self.lock:
            self._heartbeat(fw, subscription)

    def stream_closed(self, framework_id: str, subscription: Subscription) -> None:
        """The scheduler's connection went away: deactivate it (its offers return and its
        filters are cleared, hierarchical.cpp `deactivateFramework`) and start its
        failover timeout."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is None or fw.subscription is not subscription:
                return
            subscription.close()
            fw.subscription = None
            fw.unregistered_time = time.time()
            self._recover_framework_offers(fw)
            fw.filters.clear()
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
        for task in [*fw.tasks.values(), *fw.unreachable_tasks.values()]:
            agent = self.agents.get(task.agent_id)
            if agent is not None:
                agent.kill(task, killing_state=False, grace_s=0.0)
        if fw.subscription is not None:
            fw.subscription.close()
        del self.frameworks[fw.id]
        self.removed_frameworks[fw.id] = fw

    # -- calls ---------------------------------------------------------------------------------

    def check_leading(self) -> None:
        if time.time() < self.unavailable_until:
            raise CallError(503, "Master has not finished recovery")

    def check_stream(self, call: dict, stream_id: str | None,
                     principal: str | None = None) -> Framework:
        """The framework lookups of `Master::Http::scheduler`, in its order."""
        framework_id = call["framework_id"]["value"]
        fw = self.frameworks.get(framework_id)
        if fw is None:
            raise CallError(400, "Framework cannot be found")
        if principal is not None and principal != fw.info.get("principal"):
            raise CallError(400, f"Authenticated principal '{principal}' does not match "
                                 f"principal '{fw.info.get('principal', '')}' set in "
                                 "`FrameworkInfo`")
        if not fw.connected:
            raise CallError(403, "Framework is not subscribed")
        if stream_id is None:
            raise CallError(400, "All non-subscribe calls should include the "
                                 "'Mesos-Stream-Id' header")
        if stream_id != fw.subscription.stream_id:
            raise CallError(400, f"The stream ID '{stream_id}' included in this request "
                                 "didn't match the stream ID currently associated with "
                                 f"framework ID {framework_id}")
        return fw

    def handle_call(self, call: dict, stream_id: str | None,
                    principal: str | None = None) -> None:
        """Any call but SUBSCRIBE, already parsed and validated (devcluster.validation)."""
        handler = {
            "TEARDOWN": Master._teardown, "ACCEPT": Master._accept,
            "DECLINE": Master._decline, "REVIVE": Master._revive,
            "SUPPRESS": Master._suppress, "KILL": Master._kill,
            "ACKNOWLEDGE": Master._acknowledge, "RECONCILE": Master._reconcile,
        }.get(call["type"], Master._no_effect)
        with self.lock:
            self.check_leading()
            fw = self.check_stream(call, stream_id, principal)
            if call["type"] == "UNKNOWN":
                raise CallError(501, "")
            handler(self, fw, call)

    def _no_effect(self, fw: Framework, call: dict) -> None:
        """A call the master accepts (202) that changes nothing here: no custom executors,
        inverse offers or operations exist in the emulator, and REQUEST has been a no-op
        in Mesos for long."""

    def _teardown(self, fw: Framework, call: dict) -> None:
        log.info("framework %s torn down", fw.id)
        self._remove_framework(fw)

    def _accept(self, fw: Framework, call: dict) -> None:
        accept = call["accept"]
        offer_ids = [o["value"] for o in accept.get("offer_ids") or []]
        tasks = []
        for op in accept.get("operations") or []:
            if op.get("type") != "LAUNCH":
                raise CallError(400, f"unsupported offer operation {op.get('type')!r}")
            tasks.extend((op.get("launch") or {}).get("task_infos") or [])
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
        role = offers[0].allocation_role
        available: dict[str, Resources] = {}
        for offer in offers:
            available.setdefault(offer.role, Resources()).add(offer.resources)
        allocation_role = role if "MULTI_ROLE" in fw.capabilities else None
        for info in tasks:
            try:
                reserved, needed = validate_task(info, agent.id, fw.tasks, available,
                                                 allocation_role)
            except TaskInvalid as err:
                self._send_invalid(fw, info, "TASK_ERROR", "REASON_TASK_INVALID", str(err))
                continue
            available[reserved].subtract(needed)
            self._launch(fw, agent, info, reserved, role, needed)
        refuse_s = refuse_seconds(accept.get("filters"))
        for reserved, leftover in available.items():
            if not leftover.is_empty():
                agent.free.setdefault(reserved, Resources()).add(leftover)
                add_filter(fw, role, agent.id, leftover, refuse_s,
                           self.options.allocation_interval_s, time.time())

    def _take_offers(self, fw: Framework, offer_ids: list[str]) -> tuple[list[Offer], str | None]:
        offers, problem = [], None
        for offer_id in offer_ids:
            offer = fw.offers.pop(offer_id, None)
            if offer is None:
                problem = problem or f"Offer {offer_id} is no longer valid"
                continue
            self.offers.pop(offer_id, None)
            offers.append(offer)
        if problem is None and not offers:
            problem = "No offers specified"
        if problem is None and len({o.agent_id for o in offers}) > 1:
            problem = "Aggregated offers must belong to one single agent"
        if problem is None and len({o.allocation_role for o in offers}) > 1:
            problem = "Aggregated offers must be allocated to the same role"
        if problem is None and offers[0].agent_id not in self.agents:
            problem = f"Agent {offers[0].agent_id} is not available"
        return offers, problem

    def _launch(self, fw: Framework, agent: SimulatedAgent, info: dict, reserved: str,
                allocation_role: str, needed: Resources) -> None:
        task_id = info["task_id"]["value"]
        sandbox = agent.spec.work_dir / "sandboxes" / fw.id / task_id
        task = AgentTask(task_id=task_id, name=info["name"], framework_id=fw.id,
                         agent_id=agent.id, role=reserved, resources=needed, info=info,
                         sandbox=sandbox, allocation_role=allocation_role)
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
        decline = call["decline"]
        refuse_s = refuse_seconds(decline.get("filters"))
        for item in decline.get("offer_ids") or []:
            offer = fw.offers.pop(item["value"], None)
            if offer is None:
                continue
            self.offers.pop(offer.id, None)
            self._recover_offer(offer)
            add_filter(fw, offer.allocation_role, offer.agent_id, offer.resources, refuse_s,
                       self.options.allocation_interval_s, time.time())

    def _named_roles(self, fw: Framework, roles: list[str], what: str) -> set[str] | None:
        """The roles a REVIVE or SUPPRESS names (all the framework's when none), or None
        when one is invalid or not subscribed: the whole call is then dropped."""
        for role in roles:
            if role_problem(role) is not None or role not in fw.roles:
                log.info("dropping %s for framework %s: role '%s' is not one of its "
                         "subscribed roles", what, fw.id, role)
                return None
        return set(roles) or set(fw.roles)

    def _revive(self, fw: Framework, call: dict) -> None:
        roles = self._named_roles(fw, (call.get("revive") or {}).get("roles") or [], "REVIVE")
        if roles is None:
            return
        if self.mesos.revive_clears_every_filter:
            fw.filters.clear()
        else:
            fw.filters = {key: kept for key, kept in fw.filters.items() if key[0] not in roles}
        fw.suppressed_roles -= roles

    def _suppress(self, fw: Framework, call: dict) -> None:
        roles = self._named_roles(fw, (call.get("suppress") or {}).get("roles") or [],
                                  "SUPPRESS")
        if roles is not None:
            fw.suppressed_roles |= roles

    def _kill(self, fw: Framework, call: dict) -> None:
        kill = call["kill"]
        task = fw.tasks.get(kill["task_id"]["value"])
        if task is None:
            item = {"task_id": kill["task_id"]}
            if "agent_id" in kill:
                item["agent_id"] = kill["agent_id"]
            self._reconcile(fw, {"reconcile": {"tasks": [item]}})
            return
        agent = self.agents.get(task.agent_id)
        if agent is not None and not task.terminal:
            grace = ((kill.get("kill_policy") or {}).get("grace_period") or {}).get("nanoseconds")
            agent.kill(task, "TASK_KILLING_STATE" in fw.capabilities,
                       grace / 1e9 if isinstance(grace, (int, float)) else None)

    def _acknowledge(self, fw: Framework, call: dict) -> None:
        ack = call["acknowledge"]
        agent_id = ack["agent_id"]["value"]
        task_id = ack["task_id"]["value"]
        agent = self.agents.get(agent_id)
        if agent is not None and agent.connected:
            agent.acknowledge(task_id, ack["uuid"])
            task = fw.tasks.get(task_id)
            if task is not None and task.terminal and task_id not in agent.tasks:
                fw.tasks.pop(task_id, None)

    def _reconcile(self, fw: Framework, call: dict) -> None:
        for status in reconcile.answers(self, fw, call["reconcile"].get("tasks") or []):
            fw.subscription.send({"type": "UPDATE", "update": {"status": status}})

    def _send_master_update(self, fw: Framework, task: AgentTask, state: str, reason: str,
                            message: str, unreachable_since: float | None = None) -> None:
        if not fw.connected:
            return
        status = reconcile.latest_status(task, message, reason)
        status["state"] = state
        if state != "TASK_RUNNING":
            status.pop("healthy", None)
        if unreachable_since is not None:
            status["unreachable_time"] = {"nanoseconds": int(unreachable_since * 1e9)}
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
        # A slow link delays the update and every event after it on the one stream: the
        # master forwards an update before it recovers the task's resources (apache/mesos
        # 1.4.3 and 1.8.1, src/master/master.cpp `Master::statusUpdate`: `forward`, then
        # `updateTask`), so no offer of them can overtake it.
        for _ in range(copies):
            if delay > 0:
                subscription.send_late(event, delay)
                self.timers.call_later(delay, subscription.release_due)
            else:
                subscription.send(event)

    def task_terminal(self, task: AgentTask) -> None:
        fw = self.frameworks.get(task.framework_id)
        if fw is not None:
            fw.completed_tasks.append(task)

    def executor_exited(self, agent: SimulatedAgent, task: AgentTask, status: int = 0) -> None:
        """`Master::exitedExecutor`: FAILURE with the executor id, for executors the master
        knows (devcluster.versions `command_executor_exit_is_failure`)."""
        fw = self.frameworks.get(task.framework_id)
        if fw is not None and fw.connected:
            fw.subscription.send({"type": "FAILURE", "failure": {
                "agent_id": {"value": agent.id}, "executor_id": {"value": task.task_id},
                "status": status}})

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
            allocation = Allocation(frameworks, self._registered_total(), self._held())
            batches: dict[str, list[dict]] = {}
            for agent in self.agents.values():
                free = agent.free.get(agent.spec.role)
                if not agent.connected or free is None or not allocatable(free):
                    continue
                picked = allocation.pick(agent, free, now)
                if picked is None:
                    continue
                fw, role = picked
                offer = Offer(id=f"{self.master_id}-O{self._offer_seq}", framework_id=fw.id,
                              agent_id=agent.id, role=agent.spec.role, resources=free,
                              allocation_role=role)
                self._offer_seq += 1
                agent.free[agent.spec.role] = Resources()
                fw.offers[offer.id] = offer
                self.offers[offer.id] = offer
                batches.setdefault(fw.id, []).append(offer_json(offer, agent, fw))
                made += 1
                if self.options.offer_timeout_s is not None:
                    self.timers.call_later(self.options.offer_timeout_s,
                                           lambda offer_id=offer.id: self.rescind(offer_id))
            for fw_id, offers in batches.items():
                self.frameworks[fw_id].subscription.send(
                    {"type": "OFFERS", "offers": {"offers": offers}})
        return made

    def _registered_total(self) -> Resources:
        total = Resources()
        for agent in self.agents.values():
            if agent.state in ("active", "disconnected"):
                total.add(agent.spec.total_resources())
        return total

    def _held(self) -> list[tuple[str, str, Resources]]:
        """(framework, allocation role, resources) of every offer and live task."""
        held = [(o.framework_id, o.allocation_role, o.resources) for o in self.offers.values()]
        held += [(t.framework_id, t.allocation_role, t.resources)
                 for fw in self.frameworks.values() for t in fw.tasks.values()
                 if not t.terminal]
        return held

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
        """A new leading master: new id, streams closed, offers, filters and every task
        forgotten until agents re-register (devcluster.lifecycle)."""
        with self.lock:
            self.master_id = str(uuid.uuid4())
            self.elected_time = time.time()
            self.unavailable_until = time.time() + self.options.failover_unavailable_s
            self.removed_frameworks.clear()
            for fw in self.frameworks.values():
                self._recover_framework_offers(fw)
                fw.filters.clear()
                fw.tasks.clear()
                fw.unreachable_tasks.clear()
                fw.completed_tasks.clear()
                if fw.subscription is not None:
                    fw.subscription.close()
                    fw.subscription = None
                fw.disconnect_generation += 1
            self._recover_agents()

    def master_info(self) -> dict:
        host, port = self.address
        info = {"id": self.master_id, "ip": _ip_as_uint32(host), "port": port,
                "hostname": host, "version": self.mesos.version,
                "address": {"hostname": host, "ip": host, "port": port},
                "pid": f"master@{host}:{port}"}
        if self.mesos.master_capabilities:
            info["capabilities"] = [{"type": c} for c in self.mesos.master_capabilities]
        return info


def _ip_as_uint32(ip: str) -> int:
    a, b, c, d = (int(p) for p in ip.split("."))
    return a | b << 8 | c << 16 | d << 24
