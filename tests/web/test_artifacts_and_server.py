"""Artifacts for the Mesos fetcher, the waitress server helper, and the metrics text format."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from web import create_app, serve
from web.artifacts import resolve_artifact
from web.contracts import HealthReport
from web.encoded import PartsReader
from web.errors import ApiError, WebConfigError
from web.metrics import exposition


def test_artifacts_are_served_byte_for_byte(client, artifacts_dir):
    response = client.get("/artifacts/calico-installer.pyz")
    assert response.status_code == 200
    assert response.data == (artifacts_dir / "calico-installer.pyz").read_bytes()
    nested = client.get("/artifacts/agents/S0/10-calico.conflist")
    assert nested.get_json(force=True) == {"name": "calico"}


@pytest.mark.parametrize(
    "path",
    [
        "/artifacts/../secret.txt",
        "/artifacts/%2e%2e/secret.txt",
        "/artifacts/agents/..%2f..%2fsecret.txt",
        "/artifacts/agents",
        "/artifacts/missing.pyz",
        "/artifacts//etc/passwd",
    ],
)
def test_artifacts_never_leave_their_directory(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"outside the artifacts dir" not in response.data


def test_symlinks_out_of_the_artifacts_dir_are_refused(client, artifacts_dir):
    (artifacts_dir / "escape").symlink_to(artifacts_dir.parent / "secret.txt")
    assert client.get("/artifacts/escape").status_code == 404


def test_no_artifacts_dir_means_no_artifacts(rollout):
    app = create_app(rollout, rollout, token=None, health=lambda: None, metrics=dict)
    assert app.test_client().get("/artifacts/calico-installer.pyz").status_code == 404


def test_missing_artifacts_dir_is_a_config_error(rollout, tmp_path):
    with pytest.raises(WebConfigError):
        create_app(
            rollout, rollout, token=None, health=lambda: None, metrics=dict,
            artifacts_dir=tmp_path / "absent",
        )


def test_resolve_artifact_rejects_absolute_names(artifacts_dir):
    with pytest.raises(ApiError):
        resolve_artifact(artifacts_dir, "/etc/hostname")


def test_serve_binds_a_free_port_and_stops_cleanly(app):
    handle = serve(app, "127.0.0.1", 0)
    try:
        assert handle.port > 0
        with urllib.request.urlopen(handle.url + "health", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(handle.url + "v1/status", timeout=5) as response:
            assert response.headers["Server"] == "calico-dcos"
    finally:
        handle.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(
        ("127.0.0.1", handle.port), timeout=2
    ):
        pass
    handle.stop()  # a second stop is harmless


def test_stop_still_closes_the_server_when_its_wake_up_pipe_is_gone(app):
    handle = serve(app, "127.0.0.1", 0)
    [(server, thread)] = handle._running
    server.trigger.close()  # as the loop does on a poll error of its pipe
    handle.stop()
    assert not thread.is_alive()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(
        ("127.0.0.1", handle.port), timeout=2
    ):
        pass


def test_served_errors_are_json(served):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(served.url + "v1/agents/nope", timeout=5)
    assert caught.value.code == 404
    assert b'"error"' in caught.value.read()


def _families(text: str) -> dict:
    """{family name: {(sample name, labels): value}} as prometheus_client parses them."""
    return {family.name: {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                          for sample in family.samples}
            for family in text_string_to_metric_families(text)}


def test_hostile_label_values_survive_the_exposition():
    steps = [{"name": 'a"b\\c\nd', "state": "running"}]
    document = {"agents": [{"state": "in_progress", "steps": steps}],
                "rollout": {"state": "in_progress", "eta_s": math.inf}}
    body, content_type = exposition(lambda: document, dict, None)
    assert content_type.startswith("text/plain")
    parsed = _families(body.decode())
    steps_family = parsed["calico_dcos_steps"]
    assert steps_family[("calico_dcos_steps", (("state", "running"),
                                               ("step", 'a"b\\c\nd')))] == 1
    assert parsed["calico_dcos_rollout_eta_seconds"][
        ("calico_dcos_rollout_eta_seconds", ())] == math.inf


def test_scheduler_counters_keep_their_names_and_missing_ones_read_zero():
    body, _ = exposition(lambda: {}, lambda: {"calico_dcos_revive_total": 3}, None)
    parsed = _families(body.decode())
    assert parsed["calico_dcos_revive"][("calico_dcos_revive_total", ())] == 3
    assert parsed["calico_dcos_offers_received"][("calico_dcos_offers_received_total", ())] == 0
    assert "# TYPE calico_dcos_revive_total counter" in body.decode().splitlines()


def test_openmetrics_when_the_scraper_asks_for_it():
    body, content_type = exposition(lambda: {}, dict, "application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().endswith("# EOF\n")


def test_web_package_imports_neither_pymesos_nor_etcd3():
    probe = (
        "import sys, web, web.api, web.pages, web.server; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymesos', 'etcd3')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", ["/artifacts/%00", "/artifacts/agents/a%00b"])
def test_names_the_filesystem_cannot_hold_are_a_quiet_404(client, path, caplog):
    """A NUL in the name is a missing artifact, not a server error with a logged traceback
    per request (log flooding)."""
    response = client.get(path)
    assert response.status_code == 404
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


CHUNK = 64 * 1024
MAX_SENT = 8 * 1024 * 1024


@pytest.mark.parametrize("framing, piece", [
    (b"Content-Length: 104857600\r\n", b" " * CHUNK),
    (b"Transfer-Encoding: chunked\r\n", b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"),
], ids=["content-length", "chunked"])
def test_the_server_refuses_an_oversized_body_before_reading_it(app, framing, piece):
    """waitress itself caps request bodies (its default buffers up to 1 GiB before Flask's
    own limit applies): it answers 413 long before a huge body has been sent."""
    handle = serve(app, "127.0.0.1", 0)
    try:
        with socket.create_connection(("127.0.0.1", handle.port), timeout=5) as sock:
            sock.sendall(b"POST /v1/rollout/pause HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n" + framing + b"\r\n")
            sent, answer = 0, b""
            sock.settimeout(0.05)
            while sent < MAX_SENT and not answer:
                try:
                    sock.sendall(piece)
                    sent += CHUNK
                    answer = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:  # closed by the server once it answered
                    break
            if not answer:
                sock.settimeout(5)
                answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    finally:
        handle.stop()


def test_serve_listens_on_exactly_the_given_addresses(app):
    """Bound to given addresses only: e.g. loopback for the Mesos health check plus the
    address Admin Router uses; any other address of the host refuses the connection."""
    handle = serve(app, ["127.0.0.1", "127.0.0.2"], 0)
    try:
        for address in ("127.0.0.1", "127.0.0.2"):
            with urllib.request.urlopen(f"http://{address}:{handle.port}/health",
                                        timeout=5) as response:
                assert response.status == 200
        with pytest.raises(ConnectionRefusedError), socket.create_connection(
            ("127.0.0.3", handle.port), timeout=2
        ):
            pass
    finally:
        handle.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(
        ("127.0.0.2", handle.port), timeout=2
    ):
        pass


def test_the_whole_document_is_served_byte_for_byte_from_its_encoding():
    """Over waitress, a document bigger than its 1 MB output buffer (sent as a file, not
    through that buffer), and one with text that is not ASCII."""
    from tests.web.rollout import FixedStatus

    for source in (FixedStatus(3_000), FixedStatus(2)):
        if len(source.document["agents"]) == 2:
            source.document["agents"][0]["hostname"] = "h\u00f4te-\u2603"
        app = create_app(source, source, token=None, health=lambda: HealthReport(ok=True),
                         metrics=dict)
        handle = serve(app)
        try:
            for _ in range(2):
                with urllib.request.urlopen(handle.url + "v1/status", timeout=30) as answer:
                    body = answer.read()
                    assert int(answer.headers["Content-Length"]) == len(body)
                document = json.loads(body)
                assert document.pop("health")["ok"] is True
                assert document == source.document
        finally:
            handle.stop()


def test_the_parts_reader_reads_and_seeks_across_its_parts():
    reader = PartsReader(("{ab", "", b",cd}"))
    assert (len(reader), reader.read(), reader.read()) == (7, b"{ab,cd}", b"")
    # A read returns from one part at most, as a raw file may.
    assert reader.seek(2) == 2 and reader.read(3) == b"b" and reader.read(3) == b",cd"
    assert reader.seek(-2, 1) == 4 and reader.read(10) == b"cd}" and reader.tell() == 7
    assert reader.read(10) == b""
    reader.seek(-4, 2)
    buffer = bytearray(2)
    assert reader.readinto(buffer) == 2 and buffer == b",c"
