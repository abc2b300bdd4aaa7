"""End-to-end on each emulated DC/OS release (`--platform`): the dev cluster command with
other frameworks' workloads on every agent, as an operator's cluster has them.

The goal on every supported platform is a fresh install that restarts no unit and loses no
workload; the events file (`--events`) is where both would show."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster.host.events import read_events
from devcluster.platforms import PLATFORMS
from devcluster.versions import VERSIONS

pytestmark = pytest.mark.e2e

DEADLINE_S = 300.0
AGENTS, PUBLIC_AGENTS, WORKLOADS = 4, 1, 2
REPO = Path(__file__).resolve().parents[2]
WORKLOAD_LINE = re.compile(r"^workloads: (\d+) of (\d+) running, (\d+) lost$", re.MULTILINE)


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def fresh_install(request, tmp_path_factory):
    """One `python -m devcluster ... --exit-on-complete` run per platform: (platform, the
    finished process, its events)."""
    work = tmp_path_factory.mktemp(f"platform-{request.param}")
    events = work / "events.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "devcluster", "--platform", request.param,
         "--agents", str(AGENTS), "--public-agents", str(PUBLIC_AGENTS),
         "--workloads", str(WORKLOADS), "--events", str(events), "--exit-on-complete",
         "--timeout", str(DEADLINE_S), "--work-dir", str(work / "cluster")],
        cwd=REPO, capture_output=True, text=True, timeout=DEADLINE_S + 120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return PLATFORMS[request.param], result, read_events(events)


def test_the_install_completes_on_the_platforms_mesos_and_docker_and_reports_workloads(
        fresh_install):
    platform, result, events = fresh_install
    assert result.returncode == 0, result.stdout + result.stderr
    mesos = VERSIONS[platform.mesos_version].version
    assert f"(Mesos {mesos})" in result.stdout
    assert f"docker: {platform.docker_version} on every host" in result.stdout
    assert f"rollout complete: {AGENTS + PUBLIC_AGENTS} of {AGENTS + PUBLIC_AGENTS}" \
        in result.stdout
    (running, total, lost), = [tuple(map(int, m)) for m in WORKLOAD_LINE.findall(result.stdout)]
    # A command task and a container per workload on every agent.
    assert total == 2 * WORKLOADS * (AGENTS + PUBLIC_AGENTS)
    lost_lines = [e for e in events if e["action"] == "lost"]
    assert (running, lost) == (total - len(lost_lines), len(lost_lines))
    for line in lost_lines:
        assert re.fullmatch(r"workload:(task|docker)-[12]", line["unit"])
        assert (line["phase"], line["ok"]) == ("end", False) and line["reason"]


def test_a_fresh_install_restarts_no_unit_and_loses_no_workload(fresh_install):
    platform, result, events = fresh_install
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e for e in events if e["action"] == "restart"] == []
    assert [e for e in events if e["action"] == "lost"] == []
    total = 2 * WORKLOADS * (AGENTS + PUBLIC_AGENTS)
    assert f"workloads: {total} of {total} running, 0 lost" in result.stdout
