"""The scheduler's look at the etcd cluster before it touches anything."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

from devcluster.etcd import EtcdServer
from framework import etcd_check
from framework.config import load


@pytest.fixture(scope="module")
def etcd_without_v2(tmp_path_factory):
    server = EtcdServer(tmp_path_factory.mktemp("no-v2"), enable_v2=False).start()
    yield server
    server.stop()


class _Etcd221(http.server.BaseHTTPRequestHandler):
    """What an etcd 2.2.1 member (the Universe etcd 0.0.x package) answers."""

    def do_GET(self):  # noqa: N802 - stdlib name
        body = {"/version": {"etcdserver": "2.2.1", "etcdcluster": "2.2.0"},
                "/v2/keys/": {"action": "get", "node": {"dir": True}},
                "/v2/members": {"members": [{"peerURLs": ["http://e1:2380"]}]}}.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(json.dumps(body).encode() if body else b"404 page not found")

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def etcd_221():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Etcd221)
    threading.Thread(target=functools.partial(server.serve_forever, 0.05), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _check(endpoints: str, **env: str):
    config = load([], {"CALICO_ETCD_ENDPOINTS": endpoints, **env})
    facts = etcd_check.probe(config, timeout_s=2.0)
    return facts, etcd_check.problem(facts, config)


def test_a_cluster_serving_v3_and_v2_is_accepted_with_its_peer_urls(etcd_server):
    facts, problem = _check(f"http://127.0.0.1:1,{etcd_server.endpoint}")
    assert problem is None
    assert facts.endpoint == etcd_server.endpoint and facts.serves_v2 and facts.serves_v3
    assert facts.peer_urls == (etcd_server.peer_endpoint,)
    assert "v2 API yes" in facts.summary()


def test_a_cluster_without_v2_is_refused_with_the_flag_to_use(etcd_without_v2):
    _, problem = _check(etcd_without_v2.endpoint)
    assert problem == (f"etcd at {etcd_without_v2.endpoint} does not serve the v2 API that "
                       "Calico v2.6 needs; start it with --enable-v2")


def test_without_calico_steps_v2_is_not_needed(etcd_without_v2):
    _, problem = _check(etcd_without_v2.endpoint, CALICO_ETCD_PROXY_ENABLED="false",
                        CALICO_DOCKER_ENABLED="false", CALICO_CNI_ENABLED="false",
                        CALICO_NODE_ENABLED="false")
    assert problem is None


def test_an_etcd_2_cluster_is_refused_saying_what_to_run(etcd_221):
    _, problem = _check(etcd_221)
    assert problem.startswith(f"etcd at {etcd_221} is etcd 2.2.1, which serves only the v2 API")
    assert "run an etcd 3.x cluster" in problem and "--enable-v2" in problem


def test_no_answer_is_unreachable_not_a_verdict():
    with pytest.raises(etcd_check.EtcdUnreachable, match="127.0.0.1:1"):
        _check("http://127.0.0.1:1")
