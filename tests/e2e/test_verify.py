"""End-to-end: each agent's Calico network is verified by a task that joins the CNI network
through the simulated agent's network/cni isolator and reaches the agent's calico/node; a
broken host fails its own verification with the real reason, changes nothing and stops no
other agent."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from devcluster.host import calico_cni
from devcluster.host.etcdv2 import Client
from devcluster.host.hostdir import CNI_CONFIG_DIR, CNI_PLUGIN_DIR
from tests.e2e.checks import host_files, restarts_per_agent
from tests.wait import wait_until

pytestmark = pytest.mark.e2e

ROLLOUT_DEADLINE_S = 240.0
VERIFY_DEADLINE_S = 90.0
POOL = ipaddress.ip_network("192.168.0.0/16")  # the package's default CALICO_CNI_SUBNET
CNI_CONFIG = f"{CNI_CONFIG_DIR}/calico.conf"


def complete(status: dict) -> bool:
    return status["rollout"]["state"] == "complete"


def _agent(status: dict, agent_id: str) -> dict:
    return next(a for a in status["agents"] if a["id"] == agent_id)


def _host(stack, agent_id: str):
    return next(a for a in stack.cluster.master.agents.values() if a.id == agent_id)


def _retry(stack, agent_id: str, why: str) -> None:
    request = urllib.request.Request(
        f"{stack.status_url}v1/agents/{agent_id}/retry", method="POST",
        data=json.dumps({"reason": why}).encode(),
        headers={"Authorization": f"Bearer {stack.options.operator_token}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 202)


def _docker_networks(host) -> list[str]:
    done = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"],
                          env={**os.environ, **host.host_env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_every_agent_is_verified_with_its_own_address_and_nothing_restarts(make_stack):
    stack = make_stack(agents=3, public_agents=1)
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    networks = [agent["network"] for agent in status["agents"]]
    assert [n["state"] for n in networks] == ["verified"] * 4, networks
    addresses = [n["ip"] for n in networks]
    assert len(set(addresses)) == 4
    assert all(ipaddress.ip_address(ip) in POOL for ip in addresses), addresses
    assert not restarts_per_agent(stack.options.cluster.events_file)
    # The Docker-side check leaves no network behind (global networks show on every host).
    host = _host(stack, status["agents"][0]["id"])
    assert not [n for n in _docker_networks(host) if n.startswith("calico-verify-")]

    # A retry verifies a complete agent again, and runs nothing else.
    agent_id = status["agents"][1]["id"]
    before = _agent(status, agent_id)
    _retry(stack, agent_id, "the top-of-rack switch was replaced")
    after = stack.wait_status(
        lambda s: complete(s) and _agent(s, agent_id)["network"]["at"] != before["network"]["at"],
        VERIFY_DEADLINE_S)
    again = _agent(after, agent_id)
    assert again["network"]["state"] == "verified"
    for step, old in zip(again["steps"], before["steps"], strict=True):
        assert (step["name"], step["task_id"] == old["task_id"]) == (
            step["name"], step["name"] != "verify")
    assert not restarts_per_agent(stack.options.cluster.events_file)


def _edit_config(root: Path, **changes: str) -> None:
    path = root / CNI_CONFIG
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _rename_network(root: Path) -> str:
    _edit_config(root, name="not-calico")
    return "Unknown CNI network 'calico'"


def _wrong_type(root: Path) -> str:
    _edit_config(root, type="calico-v3")
    return "Failed to find CNI plugin 'calico-v3' used by CNI network 'calico'"


def _plugin_missing(root: Path) -> str:
    (root / CNI_PLUGIN_DIR / "calico").unlink()
    return "Failed to find CNI plugin 'calico' used by CNI network 'calico'"


def _etcd_unreachable(root: Path) -> str:
    _edit_config(root, etcd_endpoints="http://127.0.0.1:1")
    return "failed to attach container"


BREAKAGES = {"name mismatch": _rename_network, "type mismatch": _wrong_type,
             "plugin binary missing": _plugin_missing, "etcd unreachable": _etcd_unreachable}


def test_a_broken_host_fails_its_verification_with_the_reason_and_nothing_else(make_stack):
    """Each breakage on one host: its retried verification fails with the reason Mesos or
    the plugin gives, on the page and in the API; the other agent stays complete and the
    rollout does not halt; nothing on the host changes and nothing restarts. Mended, the
    next retry verifies it again."""
    stack = make_stack(agents=2, env={"CALICO_RETRY_MAX_ATTEMPTS": "1"})
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    broken_id, other_id = (a["id"] for a in status["agents"])
    root = _host(stack, broken_id).spec.root
    events = stack.options.cluster.events_file
    for what, breakage in BREAKAGES.items():
        kept = {CNI_CONFIG: (root / CNI_CONFIG).read_bytes(),
                f"{CNI_PLUGIN_DIR}/calico": (root / CNI_PLUGIN_DIR / "calico").read_bytes()}
        reason = breakage(root)
        files = host_files(root)
        _retry(stack, broken_id, f"check after {what}")
        failed = stack.wait_status(
            lambda s: _agent(s, broken_id)["state"] == "failed", VERIFY_DEADLINE_S)
        network = _agent(failed, broken_id)["network"]
        assert network["state"] == "failed", (what, network)
        assert reason in network["error"], (what, network)
        assert "\n" not in network["error"]
        assert failed["rollout"]["state"] == "in_progress", what  # not halted
        assert _agent(failed, other_id)["state"] == "complete", what
        assert host_files(root) == files, what
        assert not restarts_per_agent(events), what
        with urllib.request.urlopen(f"{stack.status_url}agents/{broken_id}", timeout=5) as page:
            assert "Network: failed:" in page.read().decode()
        for path, data in kept.items():
            (root / path).write_bytes(data)
            (root / path).chmod(0o755 if path.startswith(CNI_PLUGIN_DIR) else 0o644)
        _retry(stack, broken_id, f"mended {what}")
        wait_until(lambda: complete(stack.status()), VERIFY_DEADLINE_S,
                   f"the agent verified again after {what}")


def test_an_exhausted_pool_fails_the_verification_with_calicos_message(make_stack):
    """Other workloads hold every address of a small pool: the agent's verification fails
    with calico-ipam's message, and nothing else changes."""
    pool = ipaddress.ip_network("10.99.0.0/26")  # one block of calico-ipam's /26 blocks
    stack = make_stack(agents=1, env={"CALICO_CNI_SUBNET": str(pool),
                                      "CALICO_RETRY_MAX_ATTEMPTS": "1"})
    status = stack.wait_status(complete, ROLLOUT_DEADLINE_S)
    (agent,) = status["agents"]
    assert ipaddress.ip_address(agent["network"]["ip"]) in pool
    block = calico_cni.new_block(pool, "elsewhere")
    block.update(allocations=[0] * pool.num_addresses, unallocated=[],
                 attributes=[{"handle_id": "workloads.other", "secondary": None}])
    Client([stack.etcd.endpoint]).set(
        f"/calico/ipam/v2/assignment/ipv4/block/{str(pool).replace('/', '-')}",
        json.dumps(block))
    root = _host(stack, agent["id"]).spec.root
    files = host_files(root)
    _retry(stack, agent["id"], "after the pool filled up")
    failed = stack.wait_status(lambda s: s["agents"][0]["state"] == "failed", VERIFY_DEADLINE_S)
    network = failed["agents"][0]["network"]
    assert "Failed to request 1 IPv4 addresses. IPAM allocated only 0." in network["error"]
    assert host_files(root) == files
    assert not restarts_per_agent(stack.options.cluster.events_file)
