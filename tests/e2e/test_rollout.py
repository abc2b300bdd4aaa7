"""End-to-end: the real scheduler process rolling Calico over simulated hosts, real etcd.

Each test runs on one emulated Mesos version (1.8 unless it says otherwise), so both are
covered without running everything twice; test_mesos_versions.py runs on both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.checks import max_agents_disrupted_at_once, restarts_per_agent
from tests.wait import wait_until

pytestmark = pytest.mark.e2e

ROLLOUT_DEADLINE_S = 240.0
REPO = Path(__file__).resolve().parents[2]


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def test_devcluster_command_converges_under_the_budget(tmp_path):
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
    assert "status: http://" in result.stdout
    assert "(Mesos 1.4.3)" in result.stdout
    assert max_agents_disrupted_at_once(events) == 1
    restarts = restarts_per_agent(events)
    assert len({agent for agent, _ in restarts}) == 5
    assert all(count == 1 for count in restarts.values()), restarts


def test_two_restart_slots_are_used_and_never_exceeded(make_stack):
    stack = make_stack(agents=4, k=2)
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 4
    assert max_agents_disrupted_at_once(stack.options.cluster.events_file) == 2


def test_resume_after_sigkill_then_no_restarts_then_new_image(make_stack):
    stack = make_stack(agents=3)
    events = stack.options.cluster.events_file
    stack.wait_status(lambda s: s["rollout"]["counts"]["complete"] >= 1 and not complete(s),
                      ROLLOUT_DEADLINE_S)
    stack.stop_scheduler(signal.SIGKILL)
    stack.start_scheduler()
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    assert all(a["state"] == "complete" for a in status["agents"])
    restarts = restarts_per_agent(events)
    assert sorted(restarts.values()) == [1] * 6, restarts  # docker + agent unit, once each

    stack.stop_scheduler()
    stack.start_scheduler()
    stack.wait_status(lambda s: s["framework"]["subscribed"] and complete(s), 60)
    assert restarts_per_agent(events) == restarts

    old_hashes = {a["id"]: _step(a, "calico-node")["target_hash"] for a in status["agents"]}
    stack.stop_scheduler()
    stack.start_scheduler({"CALICO_NODE_IMAGE": "calico/node:v2.6.13"})
    status = stack.wait_status(
        lambda s: complete(s) and all(_step(a, "calico-node")["target_hash"] != old_hashes[a["id"]]
                                      for a in s["agents"]), ROLLOUT_DEADLINE_S)
    assert restarts_per_agent(events) == restarts
    # The task reports RUNNING before its container exists: wait for the container.
    for agent in stack.cluster.master.agents.values():
        wait_until(lambda env=agent.host_env: _runs_image(env, "calico/node:v2.6.13"),
                 what=f"calico/node v2.6.13 running on {agent.spec.hostname}")


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
