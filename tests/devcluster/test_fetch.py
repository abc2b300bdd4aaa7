"""The fetcher's URI semantics, through the driver and directly."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import stat
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from devcluster.errors import FetchError
from devcluster.fetcher import fetch_one
from tests.devcluster.harness import launch

SCRIPT = "#!/bin/sh\necho script ran\n"


@pytest.fixture
def served(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a directory of test artifacts."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "plain.txt").write_text("plain text\n")
    (root / "tool.sh").write_text(SCRIPT)
    (root / "bundle.tar.gz").write_bytes(_tar_gz({"bundle/inner.txt": "from tar\n"}))
    (root / "bundle.zip").write_bytes(_zip({"zipped/inner.txt": "from zip\n"}))
    (root / "notes.txt.gz").write_bytes(gzip.compress(b"from gz\n"))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


def _tar_gz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def _sandbox(agent, framework_id: str, task_id: str) -> Path:
    return agent.spec.work_dir / "sandboxes" / framework_id / task_id


def test_uris_fetched_before_the_command_runs(harness, sched, served):
    root, url = served
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = sched.registered_id()
    uris = [
        {"value": f"{url}/plain.txt"},
        {"value": f"{url}/tool.sh", "executable": True, "output_file": "bin/tool"},
        {"value": f"file://{root}/bundle.tar.gz"},
        {"value": str(root / "bundle.zip")},
        {"value": f"{url}/bundle.tar.gz", "extract": False, "output_file": "kept.tar.gz"},
        {"value": f"{url}/notes.txt.gz"},
    ]
    launch(driver, sched, agent, "t-fetch",
           "cat plain.txt bundle/inner.txt zipped/inner.txt notes.txt && bin/tool",
           uris=uris, wait_state="TASK_FINISHED")
    assert sched.states("t-fetch") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    sandbox = _sandbox(agent, framework_id, "t-fetch")
    assert (sandbox / "stdout").read_text().splitlines() == [
        "plain text", "from tar", "from zip", "from gz", "script ran"]
    assert (sandbox / "bin" / "tool").stat().st_mode & stat.S_IXOTH
    assert not (sandbox / "plain.txt").stat().st_mode & stat.S_IXUSR
    assert (sandbox / "bundle.tar.gz").exists() and (sandbox / "bundle.zip").exists()
    assert tarfile.is_tarfile(sandbox / "kept.tar.gz")


def test_failed_fetch_fails_the_task_without_starting_it(harness, sched, served):
    _, url = served
    agent = harness.add_agent()
    driver = harness.driver(sched)
    framework_id = sched.registered_id()
    launch(driver, sched, agent, "t-404", "touch ran", uris=[{"value": f"{url}/missing"}],
           wait_state="TASK_FAILED")
    failed = sched.wait_state("t-404", "TASK_FAILED")
    assert sched.states("t-404") == ["TASK_FAILED"]
    assert failed["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert failed["source"] == "SOURCE_AGENT"
    assert "404" in failed["message"]
    assert not (_sandbox(agent, framework_id, "t-404") / "ran").exists()
    offer = sched.take_offer(agent.id)
    cpus = next(r for r in offer["resources"] if r["name"] == "cpus")
    assert cpus["scalar"]["value"] == 4.0


def test_injected_fetch_failure_fails_only_the_next_fetch(harness, sched, served):
    _, url = served
    agent = harness.add_agent()
    driver = harness.driver(sched)
    sched.registered_id()
    harness.master.faults.fetch_failures[agent.id] += 1
    uris = [{"value": f"{url}/plain.txt"}]
    launch(driver, sched, agent, "t-1", "true", uris=uris, wait_state="TASK_FAILED")
    assert "injected" in sched.wait_state("t-1", "TASK_FAILED")["message"]
    launch(driver, sched, agent, "t-2", "true", uris=uris, wait_state="TASK_FINISHED")


@pytest.mark.parametrize(("uri", "problem"), [
    ({"value": "relative/path.txt"}, "relative path"),
    ({"value": "ftp://example.invalid/x"}, "unsupported URI scheme"),
    ({"value": "/does/not/exist"}, "Failed to fetch"),
    ({"value": "/etc/hostname", "output_file": "../escape"}, "escapes the sandbox"),
    ({"value": "/etc/hostname", "output_file": "/etc/elsewhere"}, "escapes the sandbox"),
    ({"value": "/etc/hostname", "output_file": 5}, "must be a string"),
    ({"value": ""}, "without a value"),
    ("not-an-object", "without a value"),
])
def test_bad_uris_are_fetch_errors(tmp_path, uri, problem):
    with pytest.raises(FetchError, match=problem):
        fetch_one(uri, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_archive_is_a_fetch_error(tmp_path):
    source = tmp_path / "broken.tar.gz"
    source.write_bytes(b"not an archive")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    with pytest.raises(FetchError, match="Failed to extract"):
        fetch_one({"value": str(source)}, sandbox)


def test_archive_members_cannot_escape_the_sandbox(tmp_path):
    source = tmp_path / "evil.zip"
    source.write_bytes(_zip({"../outside.txt": "x"}))
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    with pytest.raises(FetchError, match="escapes"):
        fetch_one({"value": str(source)}, sandbox)
    assert not (tmp_path / "outside.txt").exists()
