"""`dcos-calico`, built and installed the way the DC/OS CLI installs a package's subcommand,
run as the DC/OS CLI runs it (`dcos-calico calico <args>`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from operator_cli import build
from operator_cli.plugin import DESCRIPTION
from tests.installer.test_check_ip_build import oldest_python
from tests.web.conftest import ADMIN_ROUTER_PREFIX, TOKEN, PrefixStripper
from universe import build as package_build
from web import serve

CLUSTER_ID = "e266cd62-5b75-4b17-87a6-7b29d8ec0df4"
TIMEOUT_S = 60
OLDEST = oldest_python(minimum=8)  # the oldest Python the subcommand supports


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """$DCOS_DIR with the subcommand where the DC/OS CLI puts a `kind: executable` binary
    (dcos/dcos-core-cli 1.12-patch.12 python/lib/dcos/dcos/subcommand.py)."""
    root = tmp_path_factory.mktemp("dcos")
    binary = build.build(root / "clusters" / CLUSTER_ID / "subcommands" / "calico" / "env"
                         / "bin" / build.NAME)
    (root / "clusters" / CLUSTER_ID / "attached").touch()
    return binary


def _run(binary: Path, *args: str, env: dict[str, str],
         python: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DCOS_", "CALICO_")) and k not in ("PYTHONPATH",)}
    argv = [str(binary)] if python is None else [python, str(binary)]
    return subprocess.run([*argv, "calico", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                          cwd=binary.parent)


def test_the_build_is_reproducible_and_is_what_the_package_points_at(tmp_path):
    first = build.build(tmp_path / "a")
    second = build.build(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_mode & 0o777 == 0o755
    resource = json.loads(package_build.source_texts()["resource.json"])
    for system in ("linux", "darwin"):
        (binary,) = resource["cli"]["binaries"][system].values()
        assert binary["kind"] == "executable" and binary["url"].endswith("/dcos-calico")
        assert binary["contentHash"] == [
            {"algo": "sha256", "value": hashlib.sha256(first.read_bytes()).hexdigest()}]


def test_it_describes_itself_to_the_dcos_cli(installed):
    done = _run(installed, "--info", env={})
    assert done.returncode == 0 and done.stdout.strip() == DESCRIPTION


@pytest.mark.parametrize("python", [None, pytest.param(OLDEST, marks=pytest.mark.skipif(
    OLDEST is None, reason="no python3.8+ older than this one"))], ids=["python3", "oldest"])
def test_it_reaches_the_service_through_the_attached_cluster(installed, app, rollout, python):
    handle = serve(PrefixStripper(app, ADMIN_ROUTER_PREFIX))
    root = installed.parents[6]
    (root / "clusters" / CLUSTER_ID / "dcos.toml").write_text(
        f'[core]\ndcos_url = "{handle.url.rstrip("/")}"\nssl_verify = "false"\n'
        '[cluster]\nname = "dev"\n')
    env = {"DCOS_DIR": str(root), "HOME": str(root)}
    try:
        shown = _run(installed, "status", env=env, python=python)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("calico: in progress, 0 of 5 agents complete")
        refused = _run(installed, "pause", "--reason", "x", env=env, python=python)
        assert refused.returncode == 2 and "not authenticated" in refused.stderr
        paused = _run(installed, "pause", "--reason", "maintenance",
                      env={**env, "CALICO_OPERATOR_TOKEN": TOKEN}, python=python)
        assert paused.returncode == 0, paused.stderr
        assert rollout.paused["paused"] and rollout.paused["why"] == "maintenance"
        other = _run(installed, "status", "--name", "other", env=env, python=python)
        assert other.returncode == 1 and "404" in other.stderr
    finally:
        handle.stop()


def test_it_runs_without_the_project_installed(installed):
    """Only the zipapp and a python3: no import reaches outside it."""
    done = subprocess.run([sys.executable, "-S", "-I", str(installed), "calico", "--help"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    assert "plan" in done.stdout and "--name" in done.stdout
