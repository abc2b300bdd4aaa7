"""A simulated agent's /flags and /files/read, as frameworks read a task's sandbox from a real
agent (apache/mesos 1.4.0 src/files/files.cpp)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest

from devcluster.agent_http import MAX_READ, AgentServer, latest_run_path
from tests.devcluster.harness import FAST, MasterHarness, RecordingScheduler, launch

CONTENT = '{"status": "failed", "message": "docker did not come back"}\n'


@contextlib.contextmanager
def agent_that_ran(work_dir, task_id: str, command: str, wait_state: str = "TASK_FINISHED"):
    """One agent serving its endpoints, after a task ran `command` to `wait_state`:
    yields (harness, agent, its server, the framework id, the task)."""
    harness = MasterHarness(work_dir)
    agent = harness.add_agent()
    server = AgentServer(harness.master, agent.id, agent.spec.ip).start()
    try:
        sched = RecordingScheduler()
        driver = harness.driver(sched)
        framework_id = sched.registered_id()
        task = launch(driver, sched, agent, task_id, command, wait_state=wait_state)
        yield harness, agent, server, framework_id, task
    finally:
        server.stop()
        harness.close()


@pytest.fixture
def cluster(tmp_path):
    command = f"printf '%s' '{CONTENT}' > result.json; mkdir sub; ln -s /etc/passwd sub/escape"
    with agent_that_ran(tmp_path, "t1", command) as ran:
        yield ran


def _get(server, endpoint: str, **query) -> tuple[int, bytes]:
    url = f"http://{server.ip}:{server.port}{endpoint}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_a_finished_tasks_file_is_read_by_its_latest_run_path(cluster):
    _, agent, server, framework_id, _ = cluster
    status, body = _get(server, "/flags")
    assert status == 200
    work_dir = json.loads(body)["flags"]["work_dir"]
    latest = latest_run_path(agent.spec.work_dir, agent.id, framework_id, "t1")
    assert latest.startswith(work_dir + "/slaves/")
    status, body = _get(server, "/files/read", path=f"{latest}/result.json", offset=0)
    assert status == 200
    assert json.loads(body) == {"offset": 0, "data": CONTENT}
    assert json.loads(_get(server, "/files/read", path=f"{latest}/result.json",
                           offset=-1)[1]) == {"offset": len(CONTENT), "data": ""}
    assert json.loads(_get(server, "/files/read", path=f"{latest}/result.json", offset=2,
                           length=4)[1]) == {"offset": 2, "data": CONTENT[2:6]}


def test_the_sandbox_is_also_attached_under_its_real_directory(cluster):
    _, _, server, _, task = cluster
    status, body = _get(server, "/files/read", path=f"{task.sandbox}/result.json")
    assert status == 200 and json.loads(body)["data"] == CONTENT


@pytest.mark.parametrize(("query", "status", "text"), [
    ({}, 400, b"Expecting 'path=value' in query.\n"),
    ({"path": "{latest}"}, 400, b"Cannot read a directory.\n"),
    ({"path": "{latest}/missing"}, 404, b""),
    ({"path": "/etc/passwd"}, 404, b""),
    ({"path": "{latest}/sub/escape"}, 400, b"inaccessible"),
    ({"path": "{latest}/../../../../../../../etc/passwd"}, 404, b""),
    ({"path": "{latest}/result.json", "offset": "-5"}, 400, b"Negative offset provided: -5."),
    ({"path": "{latest}/result.json", "length": "x"}, 400, b"Failed to parse length"),
])
def test_reads_are_refused_as_the_agent_refuses_them(cluster, query, status, text):
    _, agent, server, framework_id, _ = cluster
    latest = latest_run_path(agent.spec.work_dir, agent.id, framework_id, "t1")
    filled = {key: value.format(latest=latest) for key, value in query.items()}
    answer, body = _get(server, "/files/read", **filled)
    assert answer == status and text in body


def test_a_read_is_capped_at_sixteen_pages(tmp_path):
    command = f"head -c {MAX_READ * 2} /dev/zero | tr '\\0' a > f"
    with agent_that_ran(tmp_path, "big", command) as (_, agent, server, framework_id, _):
        latest = latest_run_path(agent.spec.work_dir, agent.id, framework_id, "big")
        body = json.loads(_get(server, "/files/read", path=f"{latest}/f")[1])
        assert len(body["data"]) == MAX_READ == os.sysconf("SC_PAGESIZE") * 16


def test_with_token_authentication_the_endpoints_need_a_token(tmp_path):
    harness = MasterHarness(tmp_path, dataclasses.replace(
        FAST, authenticate_token=lambda token: "sa" if token == "good" else None))
    agent = harness.add_agent()
    server = AgentServer(harness.master, agent.id, agent.spec.ip).start()
    try:
        assert _get(server, "/flags")[0] == 401
        request = urllib.request.Request(f"http://{server.ip}:{server.port}/flags",
                                         headers={"Authorization": "token=good"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()
        harness.close()
