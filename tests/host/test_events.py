import json
import subprocess
import sys

import pytest

from devcluster.host.errors import EventError
from devcluster.host.events import append_event, read_events

BASE = {"agent_id": "a1", "hostname": "h1", "unit": "docker"}


def test_appended_events_read_back_in_order_with_extras(tmp_path):
    path = tmp_path / "events.jsonl"
    append_event(path, **BASE, action="restart", phase="begin", ok=True, job=3)
    append_event(path, **BASE, action="restart", phase="end", ok=False, reason="bad\nconfig",
                 time=123.5)
    events = read_events(path)
    assert [e["phase"] for e in events] == ["begin", "end"]
    assert events[0]["job"] == 3 and events[0]["ok"] is True
    assert isinstance(events[0]["time"], float)
    assert events[1]["time"] == 123.5 and events[1]["reason"] == "bad\nconfig"
    assert len(path.read_text().splitlines()) == 2


def test_missing_file_reads_as_no_events(tmp_path):
    assert read_events(tmp_path / "none.jsonl") == []


@pytest.mark.parametrize("change, message", [
    ({"action": "reboot"}, "action"),
    ({"phase": "middle"}, "phase"),
    ({"ok": "yes"}, "ok must be a bool"),
    ({"payload": object()}, "JSON"),
])
def test_malformed_events_are_refused_and_nothing_is_written(tmp_path, change, message):
    path = tmp_path / "events.jsonl"
    fields = {**BASE, "action": "start", "phase": "begin", "ok": True, **change}
    with pytest.raises(EventError, match=message):
        append_event(path, **fields)
    assert not path.exists()


def test_a_line_that_is_not_an_event_is_reported_with_its_line_number(tmp_path):
    path = tmp_path / "events.jsonl"
    append_event(path, **BASE, action="start", phase="begin", ok=True)
    with open(path, "a") as handle:
        handle.write('{"time": 1}\nnot json\n')
    with pytest.raises(EventError, match=r"events.jsonl:2: event lacks"):
        read_events(path)


WRITER = """
import sys
from devcluster.host.events import append_event
path, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for n in range(count):
    append_event(path, agent_id=f"a{writer}", hostname="h", unit="docker", action="restart",
                 phase="begin", ok=True, n=n, padding="x" * 3000)
"""


def test_concurrent_appends_from_many_processes_never_interleave(tmp_path):
    path = tmp_path / "events.jsonl"
    writers, count = 8, 150
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), str(count)])
             for w in range(writers)]
    assert [proc.wait(timeout=60) for proc in procs] == [0] * writers
    lines = path.read_text().splitlines()
    assert len(lines) == writers * count
    seen = [(e["agent_id"], e["n"]) for e in map(json.loads, lines)]
    assert sorted(seen) == sorted((f"a{w}", n) for w in range(writers) for n in range(count))
    for w in range(writers):
        assert [n for agent, n in seen if agent == f"a{w}"] == list(range(count))
