"""Operator access on a live dev cluster behind an Admin Router stand-in, with a DC/OS IAM
stand-in: a DC/OS user's buttons on the page, `dcos calico` with the user's DC/OS login,
and a failing step's reason from the installer on the agent page."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devcluster.cluster import ClusterOptions
from devcluster.host.faults import set_fault
from devcluster.stack import DevStack, StackOptions
from operator_cli import build as cli_build
from tests.auth.adminrouter import COOKIE, AdminRouter
from tests.auth.iam import IamServer
from tests.wait import wait_until
from tests.web.conftest import pause_as_dcos_user
from web import serve

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOSTNAMES = ("faulty.example", "a2.example", "p1.example")
STARTUP_DEADLINE_S = 60.0
REPORT_DEADLINE_S = 180.0
CLI_TIMEOUT_S = 60
# Docker comes up, then dies inside the stability window: the installer rolls daemon.json
# back and fails with its reason.
CRASH_AFTER_S = 0.3
ROLLED_BACK = "previous daemon.json"


@dataclass
class Access:
    stack: DevStack
    iam: IamServer
    url: str  # the service through Admin Router: <DC/OS URL>/service/calico/
    dcos_url: str
    faulty: str  # agent id


@pytest.fixture(scope="module")
def access(tmp_path_factory) -> Iterator[Access]:
    iam = IamServer(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    time.time).start()
    options = StackOptions(
        cluster=ClusterOptions(agents=2, public_agents=1, hostnames=HOSTNAMES),
        max_concurrent_restarts=2,
        # One attempt: the faulty agent's failure (and its reason) is final, so later
        # attempts against its dead Docker do not replace the reason the tests look for;
        # and one failed agent does not halt the rollout, which the tests pause and resume.
        scheduler_env=(("CALICO_DCOS_JWKS_URL", iam.jwks_url),  # leader.mesos, rewritten
                       ("CALICO_RETRY_MAX_ATTEMPTS", "1"), ("CALICO_MAX_FAILED_AGENTS", "2")),
    )
    stack = DevStack(tmp_path_factory.mktemp("cluster"), options).start()
    front = None
    try:
        faulty = next(a for a in stack.cluster.master.agents.values()
                      if a.spec.hostname == HOSTNAMES[0])
        set_fault(faulty.spec.root, "docker_crashes_after_s", CRASH_AFTER_S)
        # Its docker unit cannot reload: the store needs a restart there, under a slot.
        drop_in = Path(faulty.spec.root) / "etc/systemd/system/docker.service.d"
        drop_in.mkdir(parents=True, exist_ok=True)
        (drop_in / "no-reload.conf").write_text("[Service]\nExecReload=\n")
        stack.wait_status(lambda s: len(s["agents"]) == 3, STARTUP_DEADLINE_S)
        front = serve(AdminRouter(lambda: iam.signing_key.public_key(),
                                  {"calico": stack.status_url}))
        # Every test starts once the faulty agent's docker step failed with the installer's
        # reason, whichever order the tests run in.
        _wait_for_the_rollback(stack, faulty.id)
        yield Access(stack, iam, f"{front.url}service/calico/", front.url.rstrip("/"),
                     faulty.id)
    finally:
        if front is not None:
            front.stop()
        stack.stop()
        iam.stop()


def _docker_step(agent: dict) -> dict:
    return next(step for step in agent["steps"] if step["name"] == "docker")


def _wait_for_the_rollback(stack: DevStack, faulty: str) -> None:
    def rolled_back() -> bool:
        status = stack.status() or {"agents": []}
        agent = next((a for a in status["agents"] if a["id"] == faulty), None)
        return agent is not None and ROLLED_BACK in (_docker_step(agent)["message"] or "")

    wait_until(rolled_back, REPORT_DEADLINE_S, what="the installer's reason in the status",
               interval_s=0.5)


def test_a_failing_step_shows_the_installers_reason_on_the_agent_page(access, page):
    page.context.add_cookies([{"name": COOKIE, "value": access.iam.user_token("alice"),
                               "url": access.dcos_url}])
    page.goto(f"{access.url}agents/{access.faulty}")
    docker = page.locator("#agent-steps .step-card", has_text="docker")
    expect(docker.locator("p.msg")).to_contain_text(ROLLED_BACK)
    # The live run first: it could not reload and needed a restart slot, and says why.
    expect(docker).to_contain_text("needs a restart of docker: the reload did not take effect")
    failed = docker.locator("tr", has_text="docker left the active state").first
    expect(failed).to_contain_text("TASK_FAILED")
    # (How long the restart took shows only when Docker was seen back before it crashed.)
    expect(failed.locator(".task-changes")).to_contain_text(
        "wrote /etc/docker/daemon.json; restarted docker")
    # The host had no daemon.json: the rollback removes the one written.
    expect(failed.locator(".task-changes")).to_contain_text("removed /etc/docker/daemon.json")
    assert "Command exited with status" not in docker.inner_text()
    expect(page.locator("#agent-events")).to_contain_text(ROLLED_BACK)


def test_a_dcos_user_pauses_and_resumes_from_the_page(access, page):
    pause_as_dcos_user(page, access.url, access.dcos_url, access.iam.user_token("alice"),
                       "alice", "kernel upgrade")
    page.locator("#resume-button").click()
    page.fill("#action-reason", "done")
    page.click("#action-confirm")
    expect(page.locator("#pause-button")).to_be_visible()
    events = json.loads(page.evaluate("async () => JSON.stringify(await (await fetch("
                                      "'v1/events?limit=50')).json())"))["events"]
    assert [e["message"] for e in events if e["by"] == "alice"] == [
        "rollout resumed: done", "rollout paused: kernel upgrade"]


@pytest.fixture
def dcos_cli(access, tmp_path) -> Iterator[tuple[Path, dict[str, str]]]:
    """`dcos-calico` installed for an attached cluster whose login is bob's."""
    cluster = tmp_path / ".dcos" / "clusters" / "7f5f6c6e-0000-4000-8000-000000000001"
    binary = cli_build.build(cluster / "subcommands" / "calico" / "env" / "bin" / cli_build.NAME)
    (cluster / "attached").touch()
    (cluster / "dcos.toml").write_text(
        f'[core]\ndcos_url = "{access.dcos_url}"\n'
        f'dcos_acs_token = "{access.iam.user_token("bob")}"\nssl_verify = "false"\n'
        '[cluster]\nname = "dev"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCOS_", "CALICO_"))}
    yield binary, {**env, "HOME": str(tmp_path)}


def _dcos_calico(binary: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), "calico", *args], env=env, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT_S, check=False)


def test_dcos_calico_acts_with_the_users_dcos_login(access, dcos_cli):
    binary, env = dcos_cli
    status = _dcos_calico(binary, env, "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("calico: ")
    plan = _dcos_calico(binary, env, "plan")
    assert plan.returncode == 0, plan.stderr
    assert f"faulty.example ({access.faulty}, private)" in plan.stdout
    assert "  docker  " in plan.stdout.split(f"({access.faulty}, private)")[1]
    shown = _dcos_calico(binary, env, "status", access.faulty)
    assert shown.returncode == 0 and "ON THE HOST" in shown.stdout
    assert "TASK_FAILED" in shown.stdout
    for args in (("pause", "--reason", "window"), ("resume", "--reason", "over"),
                 ("retry", access.faulty, "--reason", "host fixed"),
                 ("skip", access.faulty, "--reason", "left without Calico")):
        done = _dcos_calico(binary, env, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "accepted" in done.stdout
    status = json.loads(_dcos_calico(binary, env, "status", "--json").stdout)
    assert status["rollout"]["control"]["by"] == "bob"
    with urllib.request.urlopen(f"{access.stack.status_url}v1/events?limit=20") as answer:
        logged = json.load(answer)["events"]
    by_bob = [e for e in logged if e["by"] == "bob"]
    assert [e["message"].split(":")[0] for e in by_bob][:4] == [
        "skip", "retry", "rollout resumed", "rollout paused"]


def test_dcos_calico_without_a_valid_login_is_refused_by_admin_router(access, dcos_cli):
    binary, env = dcos_cli
    toml = next(Path(env["HOME"]).rglob("dcos.toml"))
    toml.write_text(toml.read_text().replace("dcos_acs_token", "stale_token"))
    refused = _dcos_calico(binary, env, "status")
    assert refused.returncode == 1
    assert "DC/OS refused the login: log in again with 'dcos auth login'" in refused.stderr
