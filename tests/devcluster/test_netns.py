"""Each simulated host's own network namespace: its own 127.0.0.1, the cluster's servers on
the gateway address, names unique per dev cluster and gone after stop or a crash."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from devcluster import netns
from devcluster.cluster import ClusterOptions, LocalCluster

pytestmark = pytest.mark.skipif(not netns.available(), reason="network namespaces need root")


def _names() -> set[str]:
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found = {line.split(":")[1].strip().split("@")[0] for line in links.splitlines()}
    if netns.NETNS_DIR.is_dir():
        found |= {entry.name for entry in netns.NETNS_DIR.iterdir()}
    return found


def test_each_host_has_its_own_loopback_and_reaches_the_gateway(tmp_path):
    cluster = LocalCluster(tmp_path, ClusterOptions(agents=2, host_netns=True)).start()
    try:
        agents = list(cluster.master.agents.values())
        ours = {a.spec.netns for a in agents} | {cluster.network.bridge}
        assert ours <= _names()
        bound = []
        for agent in agents:
            with netns.entered(agent.spec.netns):
                sock = socket.socket()
                sock.bind(("127.0.0.1", 2379))  # one per host, as on real agents
                bound.append(sock)
                with urllib.request.urlopen(f"{cluster.url}/version", timeout=5) as resp:
                    assert json.loads(resp.read())["version"]
        assert agents[0].spec.ip != agents[1].spec.ip
        for sock in bound:
            sock.close()
    finally:
        cluster.stop()
    assert not ours & _names()


def test_what_a_dead_dev_cluster_left_behind_is_swept(tmp_path):
    script = ("from devcluster.netns import ClusterNetwork; import os, sys; "
              "n = ClusterNetwork(1); print(n.bridge, n.add_host(0)[0], flush=True); "
              "os._exit(0)")  # dies without stopping: a crash
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    bridge, namespace = done.stdout.split()
    assert {bridge, namespace} <= _names()
    netns.sweep_stale()
    assert not {bridge, namespace} & _names()
