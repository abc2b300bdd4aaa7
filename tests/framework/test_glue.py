"""The scheduler's edges: offers translated per role, TaskInfo built without a shell,
agents the master leaves out of its list kept unreachable."""

from __future__ import annotations

import json

import pytest

from framework.config import load
from framework.engine import AgentInfo, AgentsListed, AgentUnreachable, Launch, Offers
from framework.mesos import engine_offer
from framework.scheduler import Runtime
from framework.state import EtcdConnection, StateStore
from framework.taskinfo import ArtifactUrls, task_info

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


@pytest.mark.parametrize("step", ["etcd-proxy", "docker", "cni", "calico-node"])
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


def test_agents_missing_from_the_master_list_stay_unreachable(tmp_path):
    config = load([], {})
    store = StateStore(EtcdConnection(["http://127.0.0.1:1"]), "calico")
    runtime = Runtime(config, store, tmp_path)
    for agent in ("a1", "a2"):
        runtime.engine.decide(AgentsListed((AgentInfo(agent, f"{agent}.x"),)), 1.0)
    runtime.engine.decide(AgentsListed((AgentInfo("a1", "a1.x"), AgentInfo("a2", "a2.x"))), 2.0)
    runtime.engine.decide(AgentUnreachable("a2"), 3.0)
    listed = runtime._with_unreachable(AgentsListed((AgentInfo("a1", "a1.x"),)))
    assert listed.agents == (AgentInfo("a1", "a1.x"), AgentInfo("a2", "a2.x", reachable=False))


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
