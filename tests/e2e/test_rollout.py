"""End-to-end: the real scheduler process rolling Calico over simulated hosts, real etcd.

Each test runs on one emulated Mesos version (1.8 unless it says otherwise), so both are
covered without running everything twice; test_mesos_versions.py runs on both."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.checks import max_agents_disrupted_at_once, restarts_per_agent
from tests.wait import wait_until

pytestmark = pytest.mark.e2e

ROLLOUT_DEADLINE_S = 240.0
REPO = Path(__file__).resolve().parents[2]


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def test_devcluster_fresh_install_restarts_nothing(tmp_path):
    """Docker takes the store by reload and Mesos reads the CNI config at launch: no unit
    restarts anywhere (the events log records every restart)."""
    events = tmp_path / "events.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "devcluster", "--mesos-version", "1.4",
         "--agents", "4", "--public-agents", "1", "--exit-on-complete",
         "--timeout", str(ROLLOUT_DEADLINE_S), "--events", str(events),
         "--work-dir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=ROLLOUT_DEADLINE_S + 60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rollout complete: 5 of 5 agents complete" in result.stdout
    assert "network verified on 5 of 5 agents: 192.168." in result.stdout
    assert "status: http://" in result.stdout
    assert "(Mesos 1.4.3)" in result.stdout
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e for e in lines if e["action"] == "restart"] == []
    assert {e["unit"] for e in lines if e["action"] == "reload"} == {"docker"}


def test_a_cluster_store_change_restarts_docker_under_the_budget(make_stack):
    stack = make_stack(agents=4, k=2)
    events = stack.options.cluster.events_file
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 4
    assert not restarts_per_agent(events)
    status = _roll_out_change(stack, status, "docker",
                              {"CALICO_DOCKER_CLUSTER_STORE": "etcd://127.0.0.1:2379/calico"})
    # Never more than the budget (whether two restarts overlap depends on offer timing).
    assert 1 <= max_agents_disrupted_at_once(events) <= 2
    assert sorted(restarts_per_agent(events).values()) == [1] * 4  # docker, once each
    for agent in status["agents"]:
        docker = _step(agent, "docker")
        assert docker["needs_restart"] is True
        assert docker["restart_reason"] == (
            "Docker runs with cluster-store etcd://127.0.0.1:2379; libnetwork does not "
            "change an existing store on reload")
    # The agent page says why the host needed its restart.
    agent_id = status["agents"][0]["id"]
    with urllib.request.urlopen(f"{stack.status_url}agents/{agent_id}", timeout=5) as resp:
        page = html.unescape(resp.read().decode())
    assert "Needs a restart: Docker runs with cluster-store etcd://127.0.0.1:2379;" in page


def test_resume_after_sigkill_then_no_restarts_then_new_image(make_stack):
    stack = make_stack(agents=3)
    events = stack.options.cluster.events_file
    # Killed mid-rollout: agents take their steps in parallel, so the kill comes once a
    # step ahead of calico-node (which takes seconds to report healthy) is complete.
    stack.wait_status(lambda s: any(_step(a, "cni")["state"] == "complete"
                                    for a in s["agents"]), ROLLOUT_DEADLINE_S)
    stack.stop_scheduler(signal.SIGKILL)
    stack.start_scheduler()
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    assert all(a["state"] == "complete" for a in status["agents"])
    restarts = restarts_per_agent(events)
    assert not restarts, restarts  # everything applied live

    stack.stop_scheduler()
    stack.start_scheduler()
    stack.wait_status(lambda s: s["framework"]["subscribed"] and complete(s), 60)
    assert restarts_per_agent(events) == restarts

    _roll_out_change(stack, status, "calico-node", {"CALICO_NODE_IMAGE": "calico/node:v2.6.13"})
    assert restarts_per_agent(events) == restarts
    # The task reports RUNNING before its container exists: wait for the container.
    for agent in stack.cluster.master.agents.values():
        wait_until(lambda env=agent.host_env: _runs_image(env, "calico/node:v2.6.13"),
                 what=f"calico/node v2.6.13 running on {agent.spec.hostname}")


def _roll_out_change(stack, status: dict, step: str, env: dict) -> dict:
    """Restart the scheduler with `env` and wait until every agent's `step` is complete
    with a new target hash."""
    old = {a["id"]: _step(a, step)["target_hash"] for a in status["agents"]}
    stack.stop_scheduler()
    stack.start_scheduler(env)
    return stack.wait_status(
        lambda s: complete(s) and all(_step(a, step)["target_hash"] != old[a["id"]]
                                      for a in s["agents"]), ROLLOUT_DEADLINE_S)


def _step(agent: dict, name: str) -> dict:
    return next(s for s in agent["steps"] if s["name"] == name)


def _runs_image(host_env: dict, image: str) -> bool:
    """`docker inspect calico-node` on a simulated host, through its docker stand-in."""
    done = subprocess.run(["docker", "inspect", "calico-node"], env={**os.environ, **host_env},
                          capture_output=True, text=True)
    if done.returncode != 0:
        return False
    node = json.loads(done.stdout)[0]
    return node["State"]["Running"] and node["Config"]["Image"] == image
