"""End to end with the package's default TaskInfos: the real etcd v2 proxy on every
agent's own 127.0.0.1:2379, Calico's clients reaching etcd through it, and each way that path
breaks stopping the rollout with its reason before any agent is disrupted."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devcluster import netns
from devcluster.etcd import etcd_binary
from devcluster.host import units
from devcluster.host.hostdir import HostDir
from devcluster.mirror import file_sha256
from framework.config import defaults
from tests.devcluster.harness import RecordingScheduler, launch
from tests.e2e.checks import restarts_per_agent
from tests.wait import wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not netns.available(),
                                 reason="per-host 127.0.0.1 needs network namespaces (root)")]

DEADLINE_S = 240.0
FAIL_FAST = {"CALICO_RETRY_MAX_ATTEMPTS": "2"}


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def halted(status: dict) -> bool:
    return status["rollout"]["state"] == "halted"


def _proxy_executable(agent) -> Path:
    """The program of the etcd-proxy task's child: what actually serves 127.0.0.1:2379."""
    task = next(t for t in agent.tasks.values()
                if t.name == "calico-etcd-proxy" and not t.terminal)
    children = Path(f"/proc/{task.proc.pid}/task/{task.proc.pid}/children").read_text().split()
    return Path(os.readlink(f"/proc/{children[0]}/exe"))


def _local_v2(agent, method: str, key: str, value: str | None = None) -> dict:
    """An etcd v2 request to 127.0.0.1:2379 as seen from the agent's host."""
    data = None if value is None else f"value={value}".encode()
    request = urllib.request.Request(f"http://127.0.0.1:2379/v2/keys{key}", data=data,
                                     method=method)
    with netns.entered(agent.spec.netns), urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def _local_v2_or_none(agent, key: str) -> dict | None:
    try:
        return _local_v2(agent, "GET", key)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def test_each_agent_runs_the_real_etcd_v2_proxy_and_calico_reaches_etcd_through_it(
        make_stack):
    stack = make_stack(agents=2, public_agents=1)
    stack.wait_status(complete, DEADLINE_S)
    real_etcd = file_sha256(Path(etcd_binary()))
    direct = stack.etcd.endpoint
    for agent in stack.cluster.master.agents.values():
        proxy = _proxy_executable(agent)
        assert proxy.name == "etcd" and file_sha256(proxy) == real_etcd
        # calico/node registered this agent through its own proxy (once its container runs,
        # which is when the step counts as complete, so the key may follow a moment later)...
        key = f"/calico/bgp/v1/host/{agent.spec.hostname}/ip_addr_v4"
        node = wait_until(lambda a=agent, k=key: _local_v2_or_none(a, k),
                          what=f"{key} through the proxy")
        assert node["node"]["value"] == agent.spec.ip
        # ...and a v2 write on the agent's 127.0.0.1:2379 lands in the cluster.
        _local_v2(agent, "PUT", f"/e2e/{agent.id}", "via-proxy")
        with urllib.request.urlopen(f"{direct}/v2/keys/e2e/{agent.id}", timeout=5) as resp:
            assert json.loads(resp.read())["node"]["value"] == "via-proxy"
        store = units.load(HostDir(agent.spec.root), "docker")["store"]
        assert store["ok"], f"dockerd on {agent.spec.hostname}: {store}"
    # A task that joins the Calico CNI network gets its address from the plugin, which read
    # its config and etcd (through the proxy) as Calico CNI v1.11 does.
    from pymesos import MesosSchedulerDriver

    scheduler = RecordingScheduler()
    driver = MesosSchedulerDriver(scheduler, {"user": "root", "name": "net-check",
                                              "roles": ["*"],
                                              "capabilities": [{"type": "MULTI_ROLE"}]},
                                  stack.cluster.url.removeprefix("http://"))
    driver.start()
    try:
        agent = next(a for a in stack.cluster.master.agents.values() if not a.spec.public)
        launch(driver, scheduler, agent, "on-calico", "sleep 60",
               container={"type": "MESOS", "network_infos": [{"name": "calico"}]})
        running = scheduler.wait_state("on-calico", "TASK_RUNNING")
        [network] = running["container_status"]["network_infos"]
        assert network["name"] == "calico"
        assert network["ip_addresses"][0]["ip_address"].startswith("192.168.")
    finally:
        driver.stop()
        driver.join()


def _grpc_proxy_archive(cluster_endpoint: str) -> bytes:
    """An "etcd" that runs etcd's v3-only gRPC proxy (what the scheduler used to start)."""
    script = (f"#!/bin/sh\nexec {etcd_binary()} grpc-proxy start --listen-addr 127.0.0.1:2379 "
              f"--endpoints {cluster_endpoint}\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(f"{defaults.ETCD_ARCHIVE_NAME.removesuffix('.tar.gz')}/etcd")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    return gzip.compress(buffer.getvalue())


def _failed_step(status: dict, step: str) -> dict:
    failed = [a for a in status["agents"] if a["state"] == "failed"]
    assert failed, status["rollout"]
    return next(s for s in failed[0]["steps"] if s["name"] == step)


def test_a_v3_only_proxy_stops_the_rollout_with_the_reason_before_any_restart(make_stack):
    stack = make_stack(agents=2, env=FAIL_FAST, prepare=lambda s: s.artifacts.replace_etcd_archive(
        _grpc_proxy_archive(s.etcd.endpoint)))
    status = stack.wait_status(halted, DEADLINE_S)
    step = _failed_step(status, "etcd-proxy")
    # The installer's own reason (its result file), or the exit status's documented one.
    assert "does not serve the v2 API that Calico v2.6 needs" in step["message"]
    assert not restarts_per_agent(stack.options.cluster.events_file)


def test_a_tampered_download_fails_its_step_with_nothing_installed(make_stack):
    stack = make_stack(agents=2, env=FAIL_FAST,
                       prepare=lambda s: s.artifacts.tamper(defaults.ETCD_BINARY_URL))
    status = stack.wait_status(halted, DEADLINE_S)
    step = _failed_step(status, "etcd-proxy")
    assert "sha256" in step["message"] and "nothing was installed" in step["message"]
    assert not list(stack.work_dir.glob("agents/*/sandboxes/*/*/etcd-proxy"))
    assert not restarts_per_agent(stack.options.cluster.events_file)


def test_an_etcd_without_v2_is_reported_at_start_and_nothing_is_launched(make_stack):
    stack = make_stack(agents=1, etcd_v2=False)
    reason = (f"etcd at {stack.etcd.endpoint} does not serve the v2 API that Calico v2.6 "
              "needs; start it with --enable-v2")
    status = stack.wait_status(lambda s: s["rollout"]["reason"] == reason, 60)
    assert status["rollout"]["state"] == "halted"

    def health() -> dict | None:
        try:
            urllib.request.urlopen(stack.status_url + "health", timeout=5)
        except urllib.error.HTTPError as err:
            return json.loads(err.read()) if err.code == 503 else None
        return None

    assert reason in wait_until(health, what="/health 503")["reasons"]
    assert stack.scheduler.poll() is None  # reporting, not crash-looping
    page = urllib.request.urlopen(stack.status_url, timeout=5).read().decode()
    assert "does not serve the v2 API that Calico v2.6 needs" in page
    assert not any(agent.tasks for agent in stack.cluster.master.agents.values())
    assert "does not serve the v2 API" in stack.scheduler_log.read_text()
