"""Test harness: a real master emulator on 127.0.0.1 and the unmodified pymesos driver."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pymesos import MesosSchedulerDriver, Scheduler

from devcluster.agent import AgentSpec, SimulatedAgent
from devcluster.cluster import agent_ip
from devcluster.master import Master, MasterOptions
from devcluster.master_http import MasterServer
from devcluster.master_records import AgentTask
from tests.wait import wait_until

DEADLINE_S = 20.0
FAST = MasterOptions(heartbeat_interval_s=1.0, allocation_interval_s=0.1,
                     status_retry_s=0.5, agent_restart_s=0.5,
                     failover_unavailable_s=0.3, agent_reregister_delay_s=0.2,
                     executor_reregistration_timeout_s=0.5)
VERSIONS = ("1.4", "1.8")


def fast(version: str, **changes) -> MasterOptions:
    """The harness's quick timings for one emulated Mesos version."""
    return dataclasses.replace(FAST, version=version, **changes)



def wait_quietly(predicate: Callable[[], object], seconds: float = 0.5) -> bool:
    """True if `predicate` becomes true within `seconds`: how a test shows that nothing
    arrives (the master answers in milliseconds, so the window is generous)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class RecordingScheduler(Scheduler):
    """Records every callback; offers are declined unless a test takes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, object]] = []
        self.offers: list[dict] = []
        self.updates: list[dict] = []
        self.update_times: list[float] = []
        self.hold_offers = True
        self.master: Master | None = None  # the master `MasterHarness.driver` connects to

    def _record(self, kind: str, value: object = None) -> None:
        with self.lock:
            self.events.append((kind, value))

    def registered(self, driver, framework_id, master_info):
        self._record("registered", (framework_id["value"], master_info))

    def reregistered(self, driver, master_info):
        self._record("reregistered", master_info)

    def disconnected(self, driver):
        self._record("disconnected")

    def resourceOffers(self, driver, offers):  # noqa: N802 - pymesos API
        with self.lock:
            self.offers.extend(offers)
        self._record("offers", [o["id"]["value"] for o in offers])

    def offerRescinded(self, driver, offer_id):  # noqa: N802
        with self.lock:
            self.offers = [o for o in self.offers if o["id"] != offer_id]
        self._record("rescinded", offer_id["value"])

    def statusUpdate(self, driver, update):  # noqa: N802
        with self.lock:
            self.updates.append(update)
            self.update_times.append(time.monotonic())
        self._record("update", update)

    def slaveLost(self, driver, agent_id):  # noqa: N802
        self._record("agent_lost", agent_id["value"])

    def executorLost(self, driver, executor_id, agent_id, status):  # noqa: N802
        self._record("executor_lost", (executor_id["value"], agent_id["value"], status))

    def error(self, driver, message):
        """Record, then abort as libmesos drivers do after an ERROR event."""
        self._record("error", message)
        driver.stop(failover=True)

    def registered_id(self) -> str:
        return wait_until(lambda: self.kinds("registered"), what="registered")[0][0]

    def kinds(self, kind: str) -> list:
        with self.lock:
            return [value for k, value in self.events if k == kind]

    def take_offer(self, agent_id: str | None = None, role: str | None = None) -> dict:
        def find():
            with self.lock:
                for offer in self.offers:
                    if agent_id and offer["agent_id"]["value"] != agent_id:
                        continue
                    if role and offer.get("allocation_info", {}).get("role") != role:
                        continue
                    self.offers.remove(offer)
                    return offer
            return None
        return wait_until(find, what=f"an offer from {agent_id or 'any agent'}")

    def states(self, task_id: str) -> list[str]:
        with self.lock:
            return [u["state"] for u in self.updates if u["task_id"]["value"] == task_id]

    def wait_state(self, task_id: str, state: str) -> dict:
        def find():
            with self.lock:
                return next((u for u in self.updates if u["task_id"]["value"] == task_id
                             and u["state"] == state), None)
        return wait_until(find, what=f"{task_id} {state}")


@dataclass
class MasterHarness:
    work_dir: Path
    options: MasterOptions = FAST
    master: Master = field(init=False)
    server: MasterServer = field(init=False)
    drivers: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.master = Master(self.work_dir, self.options)
        self.server = MasterServer(self.master).start()
        self.master.start()

    @property
    def address(self) -> str:
        host, port = self.master.address
        return f"{host}:{port}"

    def add_agent(self, public: bool = False, cpus: float = 4.0,
                  host_env: dict[str, str] | None = None) -> SimulatedAgent:
        index = len(self.master.agents)
        agent_id = self.master.next_agent_id()
        spec = AgentSpec(id=agent_id, hostname=f"agent-{index}.test", ip=agent_ip(index),
                         public=public, root=self.work_dir / "hosts" / agent_id,
                         work_dir=self.work_dir / "agents" / agent_id, cpus=cpus)
        return self.master.add_agent(spec, host_env or {})

    def driver(self, scheduler: Scheduler, *, checkpoint: bool = True,
               failover_timeout: float = 3600.0, framework_id: str | None = None,
               implicit_acks: bool = True, capabilities: tuple[str, ...] = (
                   "MULTI_ROLE", "PARTITION_AWARE", "TASK_KILLING_STATE"),
               roles: tuple[str, ...] = ("*", "slave_public"),
               principal: str | None = None, secret: str | None = None) -> MesosSchedulerDriver:
        info = {"user": "root", "name": "test-framework", "hostname": "localhost",
                "checkpoint": checkpoint, "failover_timeout": failover_timeout,
                "roles": list(roles), "capabilities": [{"type": c} for c in capabilities]}
        if principal:
            info["principal"] = principal
        if framework_id:
            info["id"] = {"value": framework_id}
        if isinstance(scheduler, RecordingScheduler):
            scheduler.master = self.master
        driver = MesosSchedulerDriver(scheduler, info, self.address,
                                      implicit_acknowledgements=implicit_acks,
                                      principal=principal, secret=secret)
        driver.start()
        self.drivers.append(driver)
        return driver

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.server.url}{path}", timeout=5) as resp:
            return json.loads(resp.read())

    def close(self) -> None:
        for driver in self.drivers:
            driver.stop(failover=True)
        for driver in self.drivers:
            driver.join()
        self.master.stop()
        self.server.stop()


def command_task(offer: dict, task_id: str, command: str, *, cpus: float = 0.1,
                 mem: float = 32.0, role: str | None = None, **extra) -> dict:
    role = role or offer.get("allocation_info", {}).get("role", "*")
    resource_role = offer["resources"][0].get("role", "*")
    resources = []
    for name, value in (("cpus", cpus), ("mem", mem)):
        res = {"name": name, "type": "SCALAR", "scalar": {"value": value},
               "role": resource_role, "allocation_info": {"role": role}}
        if resource_role != "*":
            res["reservations"] = [{"type": "STATIC", "role": resource_role}]
        resources.append(res)
    task = {"task_id": {"value": task_id}, "agent_id": offer["agent_id"], "name": task_id,
            "resources": resources, "command": {"value": command, "shell": True}}
    for key, value in extra.items():
        if key == "uris":
            task["command"]["uris"] = value
        elif key == "env":
            task["command"]["environment"] = {
                "variables": [{"name": k, "value": v} for k, v in value.items()]}
        else:
            task[key] = value
    return task


def launch(driver: MesosSchedulerDriver, sched: RecordingScheduler, agent: SimulatedAgent,
           task_id: str, command: str, *, wait_state: str | None = "TASK_RUNNING",
           **extra) -> AgentTask:
    """Take an offer from `agent` and launch one command task on it (no decline filter)."""
    offer = sched.take_offer(agent.id)
    driver.launchTasks(offer["id"], [command_task(offer, task_id, command, **extra)],
                       filters={"refuse_seconds": 0})
    if wait_state is not None:
        sched.wait_state(task_id, wait_state)
    return wait_until(lambda: find_task(sched.master, agent, task_id),
                      what=f"{task_id} on {agent.id}")


def find_task(master: Master | None, agent: SimulatedAgent, task_id: str) -> AgentTask | None:
    """The agent's task, or the master's record of it once it completed."""
    task = agent.tasks.get(task_id)
    if task is not None or master is None:
        return task
    with master.lock:
        for fw in master.frameworks.values():
            for done in fw.completed_tasks:
                if done.task_id == task_id and done.agent_id == agent.id:
                    return done
    return None


def process_gone(task: AgentTask) -> bool:
    """True once the task's process has exited and been reaped."""
    return task.proc is not None and task.proc.returncode is not None
