"""`python -m universe build|render|serve` as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
V5 = "application/vnd.dcos.universe.repo+json;charset=utf-8;version=v5"


def _universe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "universe", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def test_build_writes_the_repo(tmp_path, reference):
    result = _universe("build", "--out", str(tmp_path), "--reference", str(reference))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "repo-up-to-1.13.json").is_file()
    assert str(tmp_path / "repo/packages/C/calico/0/package.json") in result.stdout


def test_build_without_schemas_fails_clearly(tmp_path):
    result = _universe("build", "--out", str(tmp_path / "out"), "--reference", str(tmp_path))
    assert result.returncode == 1
    assert "reference schemas not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_render_prints_the_app_for_the_options(tmp_path):
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"service": {"name": "calico-lab"},
                                   "rollout": {"max_concurrent_restarts": 2}}))
    result = _universe("render", "--options", str(options))
    assert result.returncode == 0, result.stderr
    app = json.loads(result.stdout)
    assert app["id"] == "/calico-lab"
    assert app["env"]["CALICO_MAX_CONCURRENT_RESTARTS"] == "2"


def test_render_refuses_bad_options_naming_the_field(tmp_path):
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"cni": {"mtu": "big"}}))
    result = _universe("render", "--options", str(options))
    assert result.returncode == 1
    assert "/cni/mtu" in result.stderr
    assert result.stdout == ""


def test_serve_answers_cosmos(built):
    process = subprocess.Popen(
        [sys.executable, "-m", "universe", "serve", "--dir", str(built), "--host",
         "127.0.0.1", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()  # "serving http://127.0.0.1:PORT/repo"
        assert line.startswith("serving http://127.0.0.1:"), line
        url = line.split()[1]
        request = urllib.request.Request(url, headers={"Accept": V5,
                                                       "User-Agent": "dcos/1.12.0"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
            assert r.headers["Content-Type"] == V5
            assert json.loads(r.read())["packages"][0]["name"] == "calico"
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT_S)
