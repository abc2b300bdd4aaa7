"""The scheduler reads the installer's result file of an ended task from the agent's sandbox
(/flags, then /files/read on the latest run path) and posts it as a TaskReported event."""

from __future__ import annotations

import json
import queue

import pytest

from framework.config import STEP_ORDER, load
from framework.engine import Launch, TaskReported
from framework.sandbox import INSTALLER_COMMANDS, ResultRead, SandboxError, SandboxReader
from framework.taskinfo import ArtifactUrls, task_info
from tests.devcluster.test_agent_http import agent_that_ran

RESULT = {"step": "docker", "status": "failed", "exit_code": 1, "changed": True,
          "message": "docker did not become active within 60s (state: failed); previous "
                     "daemon.json restored and docker is active",
          "details": {}, "changes": [{"action": "wrote", "target": "/etc/docker/daemon.json",
                                      "seconds": None}],
          "started_at": 10.0, "finished_at": 72.0}


@pytest.fixture
def agent_with_result(tmp_path):
    task_id = "calico-docker.S0.1-abc"  # the executor id; only its step part is read
    body = json.dumps(RESULT).replace("'", "'\\''")
    command = f"printf '%s' '{body}' > calico-installer-docker.json; exit 1"
    with agent_that_ran(tmp_path, task_id, command, "TASK_FAILED") as ran:
        _, agent, server, framework_id, task = ran
        yield agent, server, ResultRead(task.task_id, agent.id, framework_id)


def _reader(server, posted) -> SandboxReader:
    return SandboxReader(load([], {}), posted.put,
                         locate=lambda agent_id: f"{server.ip}:{server.port}")


def test_the_result_file_of_an_ended_task_is_read_from_its_agent(agent_with_result):
    agent, server, read = agent_with_result
    posted: queue.Queue = queue.Queue()
    reader = _reader(server, posted).start()
    try:
        reader.task_ended(read.task_id, "TASK_RUNNING", agent.id, read.framework_id)
        reader.task_ended(read.task_id, "TASK_FAILED", agent.id, read.framework_id)
        event = posted.get(timeout=10)
    finally:
        reader.stop()
    assert isinstance(event, TaskReported) and event.task_id == read.task_id
    assert event.report.message == RESULT["message"]
    assert event.report.summary == "wrote /etc/docker/daemon.json"
    assert event.report.duration_s == 62.0
    assert posted.empty()  # only the ended task was read


def test_the_offer_says_where_the_agent_answers(agent_with_result):
    agent, server, read = agent_with_result
    reader = SandboxReader(load([], {}), print)
    reader.note_offer({"agent_id": {"value": agent.id},
                       "url": {"scheme": "http", "address": {"hostname": "h", "ip": server.ip,
                                                             "port": server.port}}})
    assert reader.read(read).status == "failed"


def test_an_unreadable_result_is_an_error_with_the_reason(agent_with_result):
    agent, server, read = agent_with_result
    reader = _reader(server, queue.Queue())
    other = ResultRead(f"calico-cni.{agent.id}.2-def", agent.id, read.framework_id)
    with pytest.raises(SandboxError, match="404"):
        reader.read(other)
    with pytest.raises(SandboxError, match="where agent .* answers is not known"):
        SandboxReader(load([], {}), print).read(read)


@pytest.mark.parametrize("step", STEP_ORDER)
def test_result_file_names_follow_the_installer_command_of_each_task(step):
    offer = {"id": {"value": "o"}, "agent_id": {"value": "a1"}, "hostname": "h",
             "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
                            "role": "*"}, {"name": "mem", "type": "SCALAR",
                                           "scalar": {"value": 512.0}, "role": "*"}]}
    launch_ = Launch("o", "a1", f"calico-{step}.a1.1", step, "*", 0.1, 64.0, "h")
    task = task_info(load([], {}), launch_, offer, ArtifactUrls("http://s/i", "http://s/c"), "h",
                     ("http://10.0.0.5:2380",))
    assert task["command"]["arguments"][2] == INSTALLER_COMMANDS[step]
