"""End-to-end: `dcos package uninstall` through Cosmos's SDK path (the test plays Cosmos,
tests/e2e/cosmos.py) against the dev cluster: Calico removed from every agent under the
restart budget, a scheduler killed mid-way resumes, then the framework is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from devcluster.cluster import ClusterOptions
from devcluster.stack import DevStack, StackOptions
from framework.state import EtcdConnection
from tests.e2e.checks import host_files, max_agents_disrupted_at_once, restarts_per_agent
from tests.e2e.conftest import FAST_MASTER
from tests.e2e.cosmos import CosmosUninstall, http_get
from tests.wait import wait_until

pytestmark = pytest.mark.e2e

DEADLINE_S = 240.0
# A host with a daemon.json of its own: the uninstall must put back exactly these bytes.
OWN_DAEMON_JSON = b'{\n  "log-driver": "journald",\n  "debug": true\n}\n'


@pytest.fixture
def stack(tmp_path):
    work = tmp_path / "stack"
    options = StackOptions(cluster=ClusterOptions(
        agents=1, public_agents=1, events_file=work / "events.jsonl", master=FAST_MASTER))
    stack = DevStack(work, options)
    work.mkdir(parents=True, exist_ok=True)
    stack.etcd.start()
    stack.cluster.start()
    stack.artifacts.start()
    yield stack
    stack.stop()


def docker(agent, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], env={**os.environ, **agent.host_env},
                          capture_output=True, text=True)


def test_uninstall_through_cosmos_is_rolling_resumable_and_leaves_nothing(stack):
    agents = list(stack.cluster.master.agents.values())
    (agents[0].spec.root / "etc/docker/daemon.json").write_bytes(OWN_DAEMON_JSON)
    before = {agent.id: host_files(agent.spec.root) for agent in agents}
    events = stack.options.cluster.events_file
    stack.start_scheduler()
    installed = stack.wait_status(lambda s: s["rollout"]["state"] == "complete", DEADLINE_S)
    framework_id = installed["framework"]["id"]
    assert not restarts_per_agent(events)  # installed live: Docker reloaded, CNI read at launch

    cosmos = CosmosUninstall(stack)
    cosmos.start()
    assert http_get(stack.status_url + "v1/state/frameworkId")[0] == 404
    status = stack.wait_status(
        lambda s: s["rollout"]["mode"] == "uninstall"
        and s["rollout"]["counts"]["complete"] >= 1, DEADLINE_S)
    assert status["rollout"]["uninstall"]["requested_by"] == "cosmos"
    assert http_get(stack.status_url + "v1/plans/deploy")[0] == 202
    page = http_get(stack.status_url + "v1/status")[1]
    assert page["health"]["live"] is True
    # The scheduler dies mid-uninstall; Marathon starts it again with the same env.
    stack.stop_scheduler(signal.SIGKILL)
    cosmos.relaunched()
    cosmos.finish(DEADLINE_S)

    # The framework tore itself down: Mesos lists it as completed, with no task left.
    master = stack.cluster.master
    assert framework_id not in master.frameworks
    assert not [t for t in master.removed_frameworks[framework_id].tasks.values()
                if not t.terminal]
    # Never more than one agent restarting at once; each unit restarted once, to uninstall
    # (the install restarted none), whatever the scheduler's restart.
    assert max_agents_disrupted_at_once(events) == 1
    restarts = restarts_per_agent(events)
    assert len(restarts) == 2 * len(agents) and set(restarts.values()) == {1}, restarts
    for agent in agents:
        assert host_files(agent.spec.root) == before[agent.id], agent.spec.hostname
        info = docker(agent, "info")
        assert info.returncode == 0 and "Cluster Store: etcd" not in info.stdout
        assert docker(agent, "inspect", "calico-node").returncode != 0
        assert master.agent_unit_state(agent.id)["active_state"] == "active"
    # Nothing of the framework is left in etcd (the lock went with the last scheduler).
    conn = EtcdConnection([stack.etcd.endpoint])
    try:
        prefix = f"/calico-dcos/{stack.options.framework_name}/"
        assert [kv.key for kv in conn.range(prefix, prefix[:-1] + "0").kvs] == []
    finally:
        conn.close()


def test_a_restart_after_the_uninstall_serves_the_finished_plan(stack):
    """Cosmos may poll again after a scheduler restart: with nothing left in etcd the
    scheduler registers no framework and answers 200 at once."""
    stack.start_scheduler({"SDK_UNINSTALL": "true"})
    cosmos = CosmosUninstall(stack)
    cosmos.wait_deployed()
    wait_until(cosmos.done, 30, "the deploy plan to answer 200", 0.2)
    assert http_get(stack.status_url + "v1/plans/deploy")[1]["status"] == "COMPLETE"
    assert stack.cluster.master.frameworks == {} == stack.cluster.master.removed_frameworks
    doc = json.loads(json.dumps(http_get(stack.status_url + "v1/status")[1]))
    assert doc["framework"]["torn_down"] is True and doc["rollout"]["mode"] == "uninstall"
    wait_until(lambda: http_get(stack.status_url + "health")[0] == 200, 10, "ready")
