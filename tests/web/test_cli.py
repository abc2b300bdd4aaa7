"""`python -m framework status|plan|pause|resume|retry|skip` against a real served app."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from operator_cli.api import EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE
from operator_cli.commands import main
from operator_cli.render import printable
from tests.web.conftest import ADMIN_ROUTER_PREFIX, HOSTILE_HOST, TOKEN, PrefixStripper
from web import serve

REPO = Path(__file__).resolve().parents[2]


def run_cli(*argv: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CALICO_OPERATOR_TOKEN"}
    if token is not None:
        env["CALICO_OPERATOR_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "framework", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_status_table_in_a_subprocess(served, rollout):
    for _ in range(5):
        rollout.advance()
    rollout.say("a1.example", "cni", "line one\n\x1b[31mred")
    result = run_cli("status", "--url", served.url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "calico: in progress, 0 of 5 agents complete"
    assert "restart slots 1 of 1 (a1.example)" in lines[1]
    host_rows = [line for line in lines if line.startswith(("a", "p", "<"))]
    assert len(host_rows) == 5
    assert any(line.startswith(HOSTILE_HOST) for line in host_rows)
    assert "\x1b" not in result.stdout and "line one\\n\\x1b[31mred" in result.stdout


def test_pause_then_resume_with_token_from_the_environment(served, rollout):
    paused = run_cli("pause", "--url", served.url, "--reason", "window", token=TOKEN)
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.strip() == "pause: accepted; rollout is paused"
    control = rollout.status()["rollout"]["control"]
    assert (control["paused"], control["why"]) == (True, "window")
    assert control["by"] == f"operator token ({getpass.getuser()})"
    resumed = run_cli("resume", "--url", served.url, "--json", token=TOKEN)
    assert json.loads(resumed.stdout)["rollout"]["state"] == "in_progress"


def test_secrets_are_not_taken_on_the_command_line(served, rollout, tmp_path):
    refused = run_cli("pause", "--url", served.url, "--token", TOKEN)
    assert refused.returncode == EXIT_USAGE and "unrecognized arguments" in refused.stderr
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    paused = run_cli("pause", "--url", served.url, "--token-file", str(token_file))
    assert paused.returncode == 0, paused.stderr
    assert rollout.paused["paused"]


def test_status_json_and_filters(served, rollout, capsys):
    rollout.advance()
    argv = ["status", "--url", served.url, "--json", "--state", "pending", "--q", "2.ex"]
    assert main(argv, {}) == 0
    body = json.loads(capsys.readouterr().out)
    assert [a["hostname"] for a in body["agents"]] == ["a2.example"]
    assert body["page"]["total"] == 1


def test_agent_status_retry_and_skip(served, rollout, capsys, monkeypatch):
    monkeypatch.setenv("CALICO_OPERATOR_TOKEN", TOKEN)
    rollout.fail("a1.example", "etcd-proxy")
    rollout.advance()
    rollout.advance()
    agent_id = rollout.agents[0].id
    assert main(["status", agent_id, "--url", served.url], {}) == 0
    shown = capsys.readouterr().out
    assert "etcd-proxy did not converge" in shown and "TASK_FAILED" in shown
    assert "recent events:" in shown
    env = {"CALICO_OPERATOR_TOKEN": TOKEN}
    assert main(["retry", agent_id, "--url", served.url], env) == 0
    assert rollout.agents[0].steps[0].state == "pending"
    assert main(["skip", agent_id, "--url", served.url], env) == 0
    assert rollout.agents[0].steps[0].state == "skipped"
    latest = rollout.events(limit=1)[0]["message"]
    assert latest == "skip etcd-proxy: skip from the command line"


@pytest.mark.parametrize(
    ("argv", "token", "code", "message"),
    [
        (["pause"], "wrong-but-long-enough", EXIT_REFUSED, "401: wrong operator token"),
        (["retry", "nope"], TOKEN, EXIT_REFUSED, "404: no agent with id nope"),
        (["retry"], TOKEN, EXIT_USAGE, "needs an agent id"),
        (["pause", "S1"], TOKEN, EXIT_USAGE, "whole rollout"),
        (["pause"], None, EXIT_USAGE, "not authenticated"),
        (["plan", "S1"], None, EXIT_USAGE, "plan shows every agent"),
        (["pause", "--token-file", "/nonexistent"], None, EXIT_USAGE, "cannot read"),
    ],
)
def test_refusals_have_clear_messages_and_exit_codes(served, capsys, argv, token, code, message):
    env = {} if token is None else {"CALICO_OPERATOR_TOKEN": token}
    assert main([*argv, "--url", served.url], env) == code
    assert message in capsys.readouterr().err


def test_plan_lists_each_agents_steps_and_what_it_waits_for(served, rollout, capsys):
    for _ in range(3):
        rollout.advance()
    assert main(["plan", "--url", served.url], {}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "calico plan: in progress, 0 of 5 agents complete"
    a1 = lines.index(next(line for line in lines if line.startswith("a1.example (")))
    assert lines[a1].endswith(": in progress, holds a restart slot")
    assert lines[a1 + 1].split()[:2] == ["etcd-proxy", "complete:"]
    assert "waiting for: waiting for a restart slot" in "\n".join(lines)


class AdminRouter(PrefixStripper):
    """Admin Router in front of the app: a DC/OS login (`Authorization: token=...`) is
    required, and the `/service/calico` prefix is stripped."""

    DCOS_TOKEN = "dcos-jwt"

    def __call__(self, environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != f"token={self.DCOS_TOKEN}":
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"error": "DC/OS login required"}']
        return super().__call__(environ, start_response)


def test_actions_through_admin_router_with_a_dcos_login(app, rollout, capsys, monkeypatch):
    monkeypatch.setenv("CALICO_OPERATOR_TOKEN", TOKEN)
    handle = serve(AdminRouter(app, ADMIN_ROUTER_PREFIX))
    url = handle.url + ADMIN_ROUTER_PREFIX.lstrip("/") + "/"
    try:
        env = {"CALICO_OPERATOR_TOKEN": TOKEN}
        refused = main(["pause", "--url", url, "--reason", "r"], env)
        assert refused == EXIT_REFUSED
        assert "401: DC/OS login required" in capsys.readouterr().err
        env["DCOS_ACS_TOKEN"] = AdminRouter.DCOS_TOKEN
        assert main(["pause", "--url", url, "--reason", "r"], env) == 0
        assert rollout.paused["paused"]
        assert main(["status", "--url", url], env) == 0
        assert "calico: paused" in capsys.readouterr().out
    finally:
        handle.stop()


def test_unreachable_scheduler(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connection refused
        assert main(["status", "--url", f"http://127.0.0.1:{port}/"], {}) == EXIT_UNREACHABLE
    assert "cannot reach" in capsys.readouterr().err


def test_printable_escapes_control_characters():
    assert printable("a\tb\x1b[2J\u202e") == "a\\tb\\x1b[2J\\u202e"
    assert printable(None) == ""
