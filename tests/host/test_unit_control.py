"""Agent units whose state lives in the master emulator, reached through control_url."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeAgentUnit:
    """A real HTTP endpoint on 127.0.0.1 answering like the master emulator's unit control."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.actions: list[dict] = []
        self.state = {"unit": unit, "active_state": "active", "active_since": 1_700_000_000.5,
                      "restarts": 0}
        self.post_status = 202
        control = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200, json.dumps(control.state).encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                control.actions.append(json.loads(body))
                self._answer(control.post_status, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/agents/a/unit"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def controlled(make_host):
    control = FakeAgentUnit("dcos-mesos-slave")
    host = make_host(control_url=control.url, agent_restart_s=60)
    yield host, control
    control.close()


@pytest.mark.parametrize("action", ["restart", "stop", "start"])
def test_agent_unit_actions_are_posted_and_return_at_once(controlled, action):
    host, control = controlled
    result = host.run("systemctl", action, "dcos-mesos-slave", timeout=20)
    assert result.returncode == 0, result.stderr
    assert control.actions == [{"action": action}]
    assert host.events() == []


def test_agent_unit_state_is_read_from_the_endpoint(controlled):
    host, control = controlled
    assert host.is_active("dcos-mesos-slave") == "active"
    shown = host.run("systemctl", "show", "-p",
                     "ActiveState,ActiveEnterTimestamp,NRestarts,ExecStart", "dcos-mesos-slave")
    props = dict(line.split("=", 1) for line in shown.stdout.splitlines())
    assert props["ActiveEnterTimestamp"] == "Tue 2023-11-14 22:13:20 UTC"
    assert props["NRestarts"] == "0" and "mesos-agent" in props["ExecStart"]
    control.state.update(active_state="activating", active_since=None, restarts=4)
    result = host.run("systemctl", "is-active", "dcos-mesos-slave")
    assert (result.stdout, result.returncode) == ("activating\n", 3)
    shown = host.run("systemctl", "show", "-p", "ActiveEnterTimestampMonotonic,NRestarts",
                     "dcos-mesos-slave")
    assert shown.stdout == "ActiveEnterTimestampMonotonic=0\nNRestarts=4\n"


def test_a_refused_action_fails_with_the_answer(controlled):
    host, control = controlled
    control.post_status = 409
    result = host.run("systemctl", "restart", "dcos-mesos-slave")
    assert result.returncode == 1 and "answered 409" in result.stderr


def test_an_unreachable_endpoint_fails_clearly(make_host):
    control = FakeAgentUnit("dcos-mesos-slave")
    host = make_host(control_url=control.url)
    control.close()
    result = host.run("systemctl", "restart", "dcos-mesos-slave")
    assert result.returncode == 1 and "cannot reach" in result.stderr
    assert host.run("systemctl", "is-active", "dcos-mesos-slave").returncode == 1


def test_docker_stays_local_on_a_controlled_host(controlled):
    host, control = controlled
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert control.actions == []
    assert [e["unit"] for e in host.events()] == ["docker", "docker"]
