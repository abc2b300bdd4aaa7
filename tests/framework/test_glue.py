"""The scheduler's edges: offers translated per role (public from reservations), TaskInfo
built without a shell, RECONCILE and KILL sent with the agent id pymesos leaves out."""

from __future__ import annotations

import json
import queue

import pytest

from framework.config import load
from framework.engine import AgentUnreachable, Launch, Offers
from framework.mesos import QueueingScheduler, engine_offer, kill_task, reconcile_tasks
from framework.scheduler import Runtime
from framework.state import EtcdConnection, StateStore
from framework.taskinfo import ArtifactUrls, task_info
from tests.reference import REFERENCE

URLS = ArtifactUrls("http://s:1/artifacts/calico-installer.pyz", "http://s:1/artifacts/c.conf")


def _resource(name, value, role="*", allocation="*"):
    res = {"name": name, "type": "SCALAR", "scalar": {"value": value}, "role": role,
           "allocation_info": {"role": allocation}}
    if role != "*":
        res["reservations"] = [{"type": "STATIC", "role": role}]
    return res


OFFER = {"id": {"value": "o1"}, "agent_id": {"value": "a1"}, "hostname": "h1",
         "resources": [_resource("cpus", 2.0), _resource("mem", 512.0),
                       _resource("cpus", 1.0, "slave_public", "slave_public"),
                       _resource("mem", 256.0, "slave_public", "slave_public")]}


def test_offers_keep_roles_apart():
    offer = engine_offer(OFFER)
    assert {(r.role, r.cpus, r.mem) for r in offer.resources} == {
        ("*", 2.0, 512.0), ("slave_public", 1.0, 256.0)}


@pytest.mark.parametrize("step", ["etcd-proxy", "docker", "cni", "calico-node", "verify",
                                  "uninstall"])
def test_tasks_run_the_installer_with_argv_only(step):
    config = load([], {})
    launch = Launch("o1", "a1", f"calico-{step}.a1.1", step, "slave_public", 0.1, 64.0, "h")
    task = task_info(config, launch, OFFER, URLS, "h1; rm -rf / #", ("http://e1:2380",))
    command = task["command"]
    assert command["shell"] is False
    assert command["arguments"][:3] == ["python3", "calico-installer.pyz", step.replace(
        "calico-node", "node")]
    assert command["uris"][0] == {"value": URLS.installer, "extract": False, "cache": False,
                                  "output_file": "calico-installer.pyz"}
    assert [r["allocation_info"]["role"] for r in task["resources"]] == ["slave_public"] * 2
    assert [r["scalar"]["value"] for r in task["resources"]] == [0.1, 64.0]
    if step == "calico-node":
        assert "h1; rm -rf / #" in command["arguments"]  # one argv item, no shell
        assert task["health_check"]["type"] == "COMMAND"
    json.dumps(task)


def test_public_comes_from_the_reservation_not_the_allocation_role():
    private = {**OFFER, "resources": [_resource("cpus", 2.0, allocation="slave_public"),
                                      _resource("mem", 512.0, allocation="slave_public")]}
    public = {**OFFER, "resources": [_resource("cpus", 1.0, "slave_public", "slave_public"),
                                     _resource("mem", 256.0, "slave_public", "slave_public")]}
    assert engine_offer(private).agent_role == "private"
    assert engine_offer(public).agent_role == "public"
    assert [r.role for r in engine_offer(private).resources] == ["slave_public"]


class _Driver:
    """Stands in for the pymesos driver's connection: records what `_send` is given."""

    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.framework_id = "fw-1"
        self.sent: list[dict] = []

    def _send(self, body: dict) -> None:
        self.sent.append(body)


def test_reconcile_and_kill_name_the_agent():
    driver = _Driver()
    reconcile_tasks(driver, [("t1", "a1"), ("t2", "a2")])
    kill_task(driver, "t1", "a1")
    assert driver.sent == [
        {"type": "RECONCILE", "framework_id": {"value": "fw-1"}, "reconcile": {"tasks": [
            {"task_id": {"value": "t1"}, "agent_id": {"value": "a1"}},
            {"task_id": {"value": "t2"}, "agent_id": {"value": "a2"}}]}},
        {"type": "KILL", "framework_id": {"value": "fw-1"},
         "kill": {"task_id": {"value": "t1"}, "agent_id": {"value": "a1"}}},
    ]
    offline = _Driver(connected=False)
    reconcile_tasks(offline, [("t1", "a1")])
    kill_task(offline, "t1", "a1")
    assert offline.sent == []


def test_an_exited_executor_is_not_a_lost_agent():
    """FAILURE with an executor id reaches pymesos' executorLost; only one without it is
    an agent lost (pymesos/scheduler.py `on_failure`)."""
    inbox: queue.Queue = queue.Queue()
    scheduler = QueueingScheduler(inbox)
    scheduler.executorLost(None, {"value": "e"}, {"value": "a1"}, 0)
    assert inbox.empty()
    scheduler.slaveLost(None, {"value": "a1"})
    assert inbox.get_nowait() == AgentUnreachable("a1")


def test_task_ids_differ_across_engines_at_the_same_moment(tmp_path):
    config = load([], {})
    store = StateStore(EtcdConnection(["http://127.0.0.1:1"]), "calico")
    ids = set()
    for _ in range(2):
        runtime = Runtime(config, store, tmp_path)
        offer = engine_offer(OFFER)
        decision = runtime.engine.decide(Offers((offer,)), 5.0)
        ids |= {a.task_id for a in decision.actions if isinstance(a, Launch)}
    assert len(ids) == 2


def test_agent_detail_lists_each_steps_tasks_oldest_first():
    from framework.engine import Engine, Plan, Policy, RetryPolicy, StepSpec, TaskStatus
    from framework.snapshot import Snapshot

    engine = Engine(Plan((StepSpec("docker", "h", 0.1, 64.0),)),
                    Policy(retry=RetryPolicy(backoff_base_s=1.0, backoff_cap_s=1.0)))
    first = engine.decide(Offers((engine_offer(OFFER),)), 10.0).actions[0]
    engine.decide(TaskStatus(first.task_id, "TASK_FAILED", message="no <b>docker</b>"), 11.0)
    second = engine.decide(Offers((engine_offer(OFFER),)), 20.0).actions[0]
    engine.decide(TaskStatus(second.task_id, "TASK_RUNNING"), 21.0)
    snapshot = Snapshot({})
    snapshot.publish(engine.status_document(22.0), dict(engine.agents))
    (step,) = snapshot.agent_detail("a1")["steps"]
    assert [(t["task_id"], t["state"], t["attempt"]) for t in step["history"]] == [
        (first.task_id, "TASK_FAILED", 1), (second.task_id, "TASK_RUNNING", 2)]
    assert step["history"][0]["message"] == "no <b>docker</b>"
    assert snapshot.agent_detail("nope") is None


def test_agent_list_keeps_agents_still_recovering_after_a_master_failover(tmp_path):
    from framework.engine import AgentInfo
    from framework.master_api import MasterClient
    from tests.devcluster.harness import MasterHarness, fast

    harness = MasterHarness(tmp_path, fast("1.8", agent_reregister_delay_s=60.0))
    try:
        private, public = harness.add_agent(), harness.add_agent(public=True)
        client = MasterClient(harness.address, load([], {}))
        assert [a.recovering for a in client.agents()] == [False, False]
        harness.master.fail_over()
        assert client.agents() == [
            AgentInfo(private.id, private.spec.hostname, "private", recovering=True),
            AgentInfo(public.id, public.spec.hostname, "public", recovering=True)]
    finally:
        harness.close()


def test_agent_detail_while_uninstalling_shows_the_stopped_tasks_history():
    from framework.engine import Kill, Uninstall
    from framework.snapshot import Snapshot
    from tests.engine.kit import Driver, of_type

    driver = Driver(agents=("a1",))
    driver.complete_agent("a1")
    node = driver.engine.agents["a1"].step("calico-node").task_id
    driver.send(Uninstall("cosmos", "dcos package uninstall"))
    assert [k.task_id for k in of_type(driver.offer("a1"), Kill)] == [node]
    snapshot = Snapshot({})
    snapshot.publish(driver.engine.status_document(driver.now), dict(driver.engine.agents))
    stop = snapshot.agent_detail("a1")["steps"][0]
    assert (stop["name"], stop["state"]) == ("stop-calico-node", "running")
    assert [t["task_id"] for t in stop["history"]] == [node]


@pytest.mark.parametrize("recorded", ["mesos-1.1.0_master_slaves_3-agents.json",
                                      "mesos-1.3.0_master_slaves_dcos-public-agent.json",
                                      "mesos-1.8.0_master_state_dcos-aws_marathon-task.json"])
def test_the_agent_list_reads_the_same_roles_from_the_trimmed_decoding(recorded):
    """Real masters' responses: decoding only the fields read changes no agent's role."""
    from framework.master_api import _listed_fields, _role

    raw = (REFERENCE / "mesos" / "recorded" / recorded).read_text()
    whole, trimmed = json.loads(raw), json.loads(raw, object_pairs_hook=_listed_fields)
    roles = [[(s["id"], s.get("hostname"), _role(s)) for s in listing["slaves"]]
             for listing in (whole, trimmed)]
    assert roles[0] == roles[1] and len(roles[0]) >= 1
