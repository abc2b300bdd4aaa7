"""The applier with a fake driver and a fake store that count calls: store then act,
acknowledge after commit, roll back and reload on a conflict, decline leftover offers,
clear and re-register when the master removed the framework. No etcd, no master."""

from __future__ import annotations

import collections

import pytest

from framework.applier import Applier
from framework.engine import AgentRecord, Engine, Pause, Policy, TaskStatus, Uninstall
from framework.mesos import RawOffers, StatusUpdate
from framework.state import Batch, ConflictError, StoredControl, StoreUnavailable
from tests.engine.kit import make_plan

PLAN = make_plan(("docker",))


class FakeDriver:
    """Records every call the applier makes, in order."""

    def __init__(self, log: list[tuple]) -> None:
        self.log = log
        self.connected = True
        self.framework_id = {"value": "fw-1"}

    def launchTasks(self, offer_id, tasks, filters):  # noqa: N802
        self.log.append(("launch", offer_id["value"], tasks[0]["task_id"]["value"]))

    def declineOffer(self, offer_id, filters):  # noqa: N802
        self.log.append(("decline", offer_id["value"], filters["refuse_seconds"]))

    def acknowledgeStatusUpdate(self, status):  # noqa: N802
        self.log.append(("ack", status["task_id"]["value"]))

    def suppressOffers(self):  # noqa: N802
        self.log.append(("suppress",))

    def reviveOffers(self):  # noqa: N802
        self.log.append(("revive",))

    def reconcileTasks(self, tasks):  # noqa: N802
        self.log.append(("reconcile", tuple(tasks)))

    def _send(self, body):
        self.log.append((body["type"].lower(),))

    def stop(self, failover=False):
        self.log.append(("stop", failover))

    def join(self):
        pass


class FakeStore:
    """Keeps agent records and control in memory; `fail` makes the next commits raise."""

    def __init__(self, log: list[tuple]) -> None:
        self.log = log
        self.agents: dict[str, dict] = {}
        self.control = StoredControl()
        self.framework_id: str | None = "fw-1"
        self.fail: list[Exception] = []
        self.calls: collections.Counter = collections.Counter()

    def commit(self, batch: Batch) -> list:
        self.calls["commit"] += 1
        if self.fail:
            raise self.fail.pop(0)
        self.agents.update(batch.agents)
        if batch.control is not None:
            self.control = batch.control
        self.log.append(("commit", tuple(sorted(batch.agents))))
        return []

    def load_framework_id(self):
        self.calls["load"] += 1
        return self.framework_id

    def load_agents(self, decode):
        return {agent_id: decode(agent_id, value) for agent_id, value in self.agents.items()}

    def load_control(self):
        return self.control

    def save_framework_id(self, framework_id):
        self.calls["save_framework_id"] += 1
        self.framework_id = framework_id

    def clear_framework(self, why, keep_agents=False):
        self.calls["clear_framework"] += 1
        self.framework_id = None
        if not keep_agents:
            self.agents.clear()


class Shell:
    """An applier wired to the fakes, with what its callbacks heard."""

    def __init__(self) -> None:
        self.log: list[tuple] = []
        self.store = FakeStore(self.log)
        self.connects: list[str | None] = []
        self.etcd: list[bool] = []
        self.changes = 0
        self.teardowns = 0
        self.applier = Applier(
            self.store, build_engine=lambda records, control: Engine(
                PLAN, Policy(), records, control),
            connect=self._connect, task_for=lambda launch, offer: {
                "task_id": {"value": launch.task_id}},
            refuse_s=1.0, retrying=lambda attempt: attempt(), etcd_seen=self.etcd.append,
            changed=self._changed, teardown=self._teardown)
        self.applier.connect()

    def _connect(self, framework_id):
        self.connects.append(framework_id)
        return FakeDriver(self.log)

    def _changed(self) -> None:
        self.changes += 1

    def _teardown(self) -> None:
        self.teardowns += 1

    def of(self, kind: str) -> list[tuple]:
        return [entry for entry in self.log if entry[0] == kind]


def raw_offer(offer_id: str, agent_id: str) -> dict:
    return {"id": {"value": offer_id}, "agent_id": {"value": agent_id}, "hostname": agent_id,
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 4096.0}}]}


def update(task_id: str, state: str) -> StatusUpdate:
    return StatusUpdate(TaskStatus(task_id, state), {"task_id": {"value": task_id},
                                                     "state": state})


def launched(shell: Shell, agent_id: str = "a1") -> str:
    shell.applier.offers(RawOffers((raw_offer(f"o-{agent_id}", agent_id),)))
    return shell.of("launch")[-1][2]


def test_a_launch_is_stored_before_the_driver_hears_of_it():
    shell = Shell()
    task_id = launched(shell)
    assert shell.log.index(("commit", ("a1",))) < shell.log.index(("launch", "o-a1", task_id))
    assert shell.store.agents["a1"]["steps"]["docker"]["task_id"] == task_id
    assert shell.applier.counters["calico_dcos_offers_accepted_total"] == 1
    assert shell.applier.raw_offers == {}
    assert shell.changes == 1


def test_an_update_is_acknowledged_only_after_its_record_is_stored():
    shell = Shell()
    task_id = launched(shell)
    shell.store.fail = [StoreUnavailable("etcd down")]
    assert shell.applier.status(update(task_id, "TASK_RUNNING")) is None
    assert shell.of("ack") == []
    assert shell.applier.engine.agents["a1"].step("docker").task_state == "LAUNCHED"
    assert shell.etcd[-1] is False
    assert shell.applier.counters["calico_dcos_etcd_errors_total"] == 1
    assert shell.applier.status(update(task_id, "TASK_RUNNING")) is not None
    assert shell.log[-2:] == [("commit", ("a1",)), ("ack", task_id)]
    assert shell.etcd[-1] is True


def test_offers_of_a_decision_not_stored_are_declined_not_held():
    shell = Shell()
    shell.store.fail = [StoreUnavailable("etcd down")]
    shell.applier.offers(RawOffers((raw_offer("o1", "a1"), raw_offer("o2", "a2"))))
    assert shell.of("launch") == []
    assert shell.of("decline") == [("decline", "o1", 1.0), ("decline", "o2", 1.0)]
    assert shell.applier.raw_offers == {}
    assert shell.applier.engine.agents == {}  # rolled back: the agents joined in no store


def test_a_conflict_rolls_back_and_reloads_what_etcd_holds():
    shell = Shell()
    launched(shell)
    loads = shell.store.calls["load"]
    elsewhere = AgentRecord("a9", "a9", "private", "active", 1.0)
    shell.store.agents["a9"] = elsewhere.to_dict()  # written by another scheduler
    shell.store.fail = [ConflictError("changed")]
    assert shell.applier.decide(Pause("ops", "window")) is None
    assert shell.store.calls["load"] == loads + 1
    assert set(shell.applier.engine.agents) == {"a1", "a9"}
    assert not shell.applier.engine.control.paused
    assert shell.etcd[-1] is True  # etcd answered; the state had changed
    with pytest.raises(ConflictError):
        shell.store.fail = [ConflictError("again")]
        shell.applier.decide(Pause("ops", "window"), raise_store_errors=True)


def test_a_removed_framework_is_cleared_and_registered_afresh():
    shell = Shell()
    shell.applier.load()
    shell.applier.disconnect()
    shell.applier.connect()
    launched(shell)
    shell.applier.reregister("master said: Framework has been removed", keep_agents=False)
    assert ("stop", True) in shell.log
    assert shell.store.calls["clear_framework"] == 1
    assert shell.connects == [None, "fw-1", None]
    assert shell.applier.framework_id is None
    assert shell.applier.engine.agents == {}


def test_a_framework_removed_while_uninstalling_keeps_the_agent_records():
    shell = Shell()
    launched(shell)
    shell.applier.reregister("master said: Framework has been removed", keep_agents=True)
    assert set(shell.applier.engine.agents) == {"a1"}
    assert set(shell.store.agents) == {"a1"}
    assert shell.connects[-1] is None


def test_a_new_framework_id_is_stored_once():
    shell = Shell()
    shell.applier.registered("fw-2")
    shell.applier.registered("fw-2")
    assert shell.store.calls["save_framework_id"] == 1
    assert shell.store.framework_id == shell.applier.framework_id == "fw-2"
    shell.applier.disconnect()
    shell.applier.connect()
    assert shell.connects[-1] == "fw-2"


def test_nothing_reaches_a_stopped_driver():
    shell = Shell()
    shell.applier.disconnect()
    shell.applier.offers(RawOffers((raw_offer("o1", "a1"),)))
    assert shell.of("launch") == shell.of("decline") == []
    assert shell.of("commit")  # the decision is stored all the same


def test_a_live_task_no_record_knows_is_killed_with_its_agent():
    shell = Shell()
    launched(shell)
    shell.applier.status(update("calico-docker.a1.stray", "TASK_RUNNING"))
    assert shell.log[-3:] == [("commit", ()), ("kill",), ("ack", "calico-docker.a1.stray")]


def test_the_engines_teardown_is_carried_out_once_stored():
    shell = Shell()
    shell.store.fail = [StoreUnavailable("etcd down")]
    shell.applier.decide(Uninstall("cosmos", "dcos package uninstall"))
    assert shell.teardowns == 0
    shell.applier.decide(Uninstall("cosmos", "dcos package uninstall"))
    assert shell.teardowns == 1  # no agent to uninstall: the engine asks to tear down
