"""Workloads of another framework: which unit restart loses which, as the events file says."""

from __future__ import annotations

import os
import subprocess

import pytest

from devcluster.cluster import ClusterOptions, LocalCluster
from devcluster.host.events import read_events
from devcluster.workloads import Workloads
from tests.devcluster.harness import fast
from tests.wait import wait_until


@pytest.fixture(params=["1.4", "1.8"])
def running(request, tmp_path):
    events = tmp_path / "events.jsonl"
    cluster = LocalCluster(tmp_path / "cluster", ClusterOptions(
        agents=1, public_agents=1, agent_restart_s=0.2, docker_restart_s=0.2,
        master=fast(request.param), events_file=events)).start()
    workloads = Workloads(cluster, per_agent=2)
    try:
        workloads.start(deadline_s=30)
        yield cluster, workloads, events
    finally:
        workloads.stop()
        cluster.stop()


def _lost(events) -> list[dict]:
    return [e for e in read_events(events) if e["action"] == "lost"]


def _agents(cluster):
    private, public = sorted(cluster.master.agents.values(), key=lambda a: a.spec.public)
    return private, public


def test_every_agent_runs_its_tasks_and_containers(running):
    cluster, workloads, events = running
    assert workloads.counts() == {"workloads": 8, "running": 8, "lost": 0}
    for agent in cluster.master.agents.values():
        ps = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True,
                            text=True, env={**os.environ, **agent.host_env}, check=True)
        assert sorted(ps.stdout.split()) == ["workload-docker-1", "workload-docker-2"]
        running_tasks = sorted(t.task_id.split(".")[0] for t in agent.tasks.values()
                               if t.state == "TASK_RUNNING")
        assert running_tasks == ["workload-task-1", "workload-task-2"]
    assert _lost(events) == []


def test_an_agent_restart_loses_the_tasks_of_a_framework_without_checkpointing(running):
    cluster, workloads, events = running
    private, public = _agents(cluster)
    cluster.master.agent_unit_action(private.id, "restart")
    wait_until(lambda: len(_lost(events)) == 2, what="two lost lines")
    lost = _lost(events)
    assert sorted(e["unit"] for e in lost) == ["workload:task-1", "workload:task-2"]
    for line in lost:
        assert (line["agent_id"], line["hostname"]) == (private.id, private.spec.hostname)
        assert (line["phase"], line["ok"], line["kind"]) == ("end", False, "task")
        assert line["reason"].startswith("TASK_LOST")
    assert workloads.counts() == {"workloads": 8, "running": 6, "lost": 2}


def test_a_docker_restart_loses_its_containers_and_nothing_else(running):
    cluster, workloads, events = running
    private, public = _agents(cluster)
    subprocess.run(["systemctl", "restart", "docker"], env={**os.environ, **public.host_env},
                   check=True, capture_output=True)
    wait_until(lambda: len(_lost(events)) == 2, what="two lost lines")
    lost = _lost(events)
    # Each line carries when the container stopped: when docker's restart began.
    (begin,) = [e for e in read_events(events) if e["unit"] == "docker"
                and e["phase"] == "begin"]
    assert [e["time"] for e in lost] == [pytest.approx(begin["time"], abs=0.05)] * 2
    assert sorted(e["unit"] for e in lost) == ["workload:docker-1", "workload:docker-2"]
    assert {(e["agent_id"], e["kind"]) for e in lost} == {(public.id, "docker")}
    assert workloads.lost()[0]["reason"] == "container exited with 0"


def test_lost_workloads_are_replaced_and_can_be_lost_again(running):
    cluster, workloads, events = running
    private, public = _agents(cluster)
    cluster.master.agent_unit_action(private.id, "restart")
    subprocess.run(["systemctl", "restart", "docker"], env={**os.environ, **private.host_env},
                   check=True, capture_output=True)
    wait_until(lambda: len(_lost(events)) == 4, what="four lost lines")
    wait_until(lambda: private.unit_state == "active", what="the agent back")
    assert workloads.replace_lost(deadline_s=30) == 4
    assert workloads.counts() == {"workloads": 8, "running": 8, "lost": 0}
    subprocess.run(["systemctl", "restart", "docker"], env={**os.environ, **private.host_env},
                   check=True, capture_output=True)
    wait_until(lambda: len(_lost(events)) == 6, what="the new containers lost too")
    assert workloads.counts() == {"workloads": 8, "running": 6, "lost": 2}


def test_stopping_the_workloads_loses_none(running):
    cluster, workloads, events = running
    workloads.stop()
    assert _lost(events) == [] and workloads.lost() == []
