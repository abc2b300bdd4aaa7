"""The repo server answers Cosmos's requests with the right index and media type."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from universe import serve
from universe.errors import UniverseError

V = "application/vnd.dcos.universe.repo+json;charset=utf-8;version={}"
COSMOS_ACCEPT = ",".join(V.format(v) for v in ("v5", "v4", "v3"))


POLL_S = 0.05


@pytest.fixture(scope="module")
def server(built):
    httpd = serve.make_server(built, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, args=(POLL_S,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.mark.parametrize("dcos, accept, version, index", [
    ("1.13.0", COSMOS_ACCEPT, "v5", "1.13"),
    ("1.12.3", COSMOS_ACCEPT, "v5", "1.12"),
    ("1.11.4", V.format("v4") + "," + V.format("v3"), "v4", "1.11"),
    ("1.10.0", V.format("v4") + "," + V.format("v3"), "v4", "1.10"),
    ("1.9.7", V.format("v3"), "v3", "1.9"),
    # a 1.12 client that reads only v4 gets the newest v4 index, correctly labelled
    ("1.12.0", V.format("v4"), "v4", "1.11"),
    ("2.0.0", COSMOS_ACCEPT, "v5", "1.13"),
])
def test_repo_answers_each_accept_version_with_its_content_type(
        server, built, dcos, accept, version, index):
    status, content_type, body = _get(f"{server}/repo", {
        "Accept": accept, "User-Agent": f"cosmos/0.6.0 dcos/{dcos}"})
    assert status == 200
    assert content_type == V.format(version)
    assert json.loads(body) == json.loads((built / f"repo-up-to-{index}.json").read_text())


def test_quality_zero_means_not_acceptable(server):
    status, content_type, _ = _get(f"{server}/repo", {
        "Accept": V.format("v5") + ";q=0", "User-Agent": "dcos/1.13.0"})
    assert status == 406
    assert content_type.startswith("text/plain")


def test_a_client_without_accept_gets_the_newest_index(server):
    status, content_type, body = _get(f"{server}/repo")
    assert (status, content_type) == (200, V.format("v5"))
    assert json.loads(body)["packages"][0]["name"] == "calico"


def test_built_files_are_served_and_nothing_outside(server, built):
    status, content_type, body = _get(f"{server}/repo/packages/C/calico/0/config.json")
    assert (status, content_type) == (200, "application/json")
    assert body == (built / "repo/packages/C/calico/0/config.json").read_bytes()
    assert _get(f"{server}/../../etc/passwd")[0] == 404
    assert _get(f"{server}/%2e%2e/%2e%2e/etc/passwd")[0] == 404
    assert _get(f"{server}/no-such-file")[0] == 404


def test_serving_an_unbuilt_directory_is_refused(tmp_path):
    with pytest.raises(UniverseError, match="universe build"):
        serve.make_server(tmp_path, "127.0.0.1", 0)
