"""End-to-end behaviour under faults: new, lost and broken agents, teardown, etcd outage.

Tests on Mesos 1.4 say so; the others run on 1.8 (see test_rollout.py)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from devcluster.host.faults import set_fault
from framework.state import DEFAULT_TTL_S as LEASE_TTL_S
from tests.e2e.checks import max_agents_disrupted_at_once, restarts_per_agent
from tests.e2e.conftest import docker_runs_another_store
from tests.wait import wait_until
from universe import build
from universe.render import render_app

pytestmark = pytest.mark.e2e

DEADLINE_S = 240.0
CHECK_INTERVAL_S = 1.0
OUTAGE_MARGIN_S = 5.0


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def code(stack, path: str) -> int:
    """The HTTP status of a GET of `path` on the scheduler; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(stack.status_url + path, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def test_new_agent_joins_and_lost_agent_holds_its_slot(make_stack):
    # Mesos 1.4: the lost agent's return is announced by nothing but its offers.
    stack = make_stack(agents=3, mesos_version="1.4", prepare=docker_runs_another_store)
    holders = stack.wait_status(lambda s: s["rollout"]["budget"]["holders"], DEADLINE_S)
    lost = holders["rollout"]["budget"]["holders"][0]
    stack.cluster.master.lose_agent(lost)
    before = restarts_per_agent(stack.options.cluster.events_file)
    new_agent = stack.cluster.add_agent()
    # While the holder is unreachable nobody else enters a disruptive step...
    status = stack.wait_status(
        lambda s: any(a["id"] == new_agent.id and a["steps"][0]["state"] == "complete"
                      for a in s["agents"]), DEADLINE_S)
    assert status["rollout"]["budget"]["holders"] == [lost]
    since = restarts_per_agent(stack.options.cluster.events_file) - before
    assert {agent for agent, _ in since} <= {lost}
    # ...and once it is back the rollout finishes everywhere, the new agent included.
    stack.cluster.master.restore_agent(lost)
    status = stack.wait_status(complete, DEADLINE_S)
    assert status["rollout"]["counts"]["total"] == 4
    assert max_agents_disrupted_at_once(stack.options.cluster.events_file) == 1


def test_teardown_registers_afresh_without_restarts(make_stack):
    stack = make_stack(agents=2, mesos_version="1.4")
    status = stack.wait_status(complete, DEADLINE_S)
    old_id = status["framework"]["id"]
    restarts = restarts_per_agent(stack.options.cluster.events_file)
    stack.cluster.master.teardown_framework(old_id)
    status = stack.wait_status(lambda s: s["framework"]["id"] not in (None, old_id)
                               and complete(s), DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 2
    assert restarts_per_agent(stack.options.cluster.events_file) == restarts


def test_docker_that_never_comes_back_fails_the_agent_and_halts(make_stack):
    stack = make_stack(agents=3, env={"CALICO_RETRY_MAX_ATTEMPTS": "2",
                                      "CALICO_RESTART_TIMEOUT": "5"},
                       prepare=docker_runs_another_store)
    for agent in stack.cluster.master.agents.values():
        set_fault(agent.spec.root, "docker_never_starts", True)
    status = stack.wait_status(lambda s: s["rollout"]["state"] == "halted", DEADLINE_S)
    failed = [a for a in status["agents"] if a["state"] == "failed"]
    assert len(failed) == 1
    docker = next(s for s in failed[0]["steps"] if s["name"] == "docker")
    assert docker["state"] == "failed" and docker["message"]
    assert status["rollout"]["reason"]
    disrupted = {agent for agent, _ in restarts_per_agent(stack.options.cluster.events_file)}
    assert disrupted == {failed[0]["id"]}


def marathon_health_check() -> dict:
    """The health check of the app Cosmos installs, rendered with the default options."""
    package = build.parse_package(build.source_texts())
    app = render_app(package.marathon_template, package.config, package.resource, {})
    (check,) = app["healthChecks"]
    return check


def test_an_etcd_outage_longer_than_the_health_check_window_kills_nothing(make_stack):
    """Marathon has the agent kill the task after `maxConsecutiveFailures` failed checks in
    a row (apache/mesos 1.4.0, src/checks/health_checker.cpp, HealthChecker::failure). The
    app's own check (path, port, failure count) is played here once a second instead of
    every 30 s, through an etcd outage longer than that window and than the leader lease:
    it never fails, while /health, /v1/status and the page say why nothing moves."""
    check = marathon_health_check()
    assert (check["protocol"], check["path"]) == ("MESOS_HTTP", "/health/live")
    window = check["maxConsecutiveFailures"] * CHECK_INTERVAL_S
    stack = make_stack(agents=2)
    stack.wait_status(lambda s: s["rollout"]["counts"]["in_progress"] >= 1, DEADLINE_S)
    stack.etcd.stop()
    outage_s = max(window, LEASE_TTL_S) + OUTAGE_MARGIN_S
    end = time.monotonic() + outage_s
    failed_in_a_row = not_ready = 0
    while time.monotonic() < end:
        if code(stack, check["path"].lstrip("/")) in range(200, 400):
            failed_in_a_row = 0
        else:
            failed_in_a_row += 1
        assert failed_in_a_row < check["maxConsecutiveFailures"], "Marathon would kill it"
        not_ready += code(stack, "health") == 503
        time.sleep(CHECK_INTERVAL_S)  # the prober's own pace, not a synchronisation
    assert stack.scheduler.poll() is None
    # The check the app used before (/health, readiness) would have failed all along.
    assert not_ready > window
    status = stack.status()
    assert "etcd is unreachable" in status["health"]["reasons"]
    page = urllib.request.urlopen(stack.status_url, timeout=5).read().decode()
    assert "Not ready: etcd is unreachable" in page
    stack.etcd.start()
    status = stack.wait_status(complete, DEADLINE_S)
    assert status["rollout"]["counts"]["complete"] == 2
    wait_until(lambda: code(stack, "health") == 200, 30, "/health to answer 200", 0.2)
