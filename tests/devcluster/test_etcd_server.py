"""The dev cluster's etcd started again in the same data dir keeps the ports its member was
created with: etcd stores the member's peer URL with its data, and the agents' proxies start
from the peer URLs the cluster lists."""

from __future__ import annotations

import json
import urllib.request

from devcluster.etcd import EtcdServer


def test_a_restart_in_the_same_data_dir_keeps_the_advertised_peer_url(tmp_path):
    first = EtcdServer(tmp_path / "etcd").start()
    first.stop()
    again = EtcdServer(tmp_path / "etcd").start()
    try:
        assert (again.client_port, again.peer_port) == (first.client_port, first.peer_port)
        with urllib.request.urlopen(f"{again.endpoint}/v2/members", timeout=5) as resp:
            [member] = json.loads(resp.read())["members"]
        assert member["peerURLs"] == [again.peer_endpoint]
    finally:
        again.stop()
