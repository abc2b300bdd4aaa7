"""`python -m framework --validate-config` as a real subprocess: exit codes and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("CALICO_", "MESOS_")) and key not in ("PORT0", "HOST")}
    return subprocess.run([sys.executable, "-m", "framework", *args], cwd=REPO,
                          env={**base, **env}, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)


def test_good_env_exits_0(tmp_path):
    result = _run(["--validate-config"], {
        "MESOS_MASTER": "leader.mesos:5050", "CALICO_ETCD_ENDPOINTS": "http://e1:2379",
        "PORT0": "10000", "CALICO_MAX_CONCURRENT_RESTARTS": "2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "configuration is valid"


def test_bad_env_exits_2_listing_every_problem(tmp_path):
    result = _run(["--validate-config"], {
        "MESOS_MASTER": "a:1,b:2", "CALICO_MAX_CONCURRENT_RESTARTS": "0",
        "CALICO_ETCD_CERT_FILE": str(tmp_path / "missing.pem")})
    assert result.returncode == 2
    for name in ("MESOS_MASTER", "CALICO_MAX_CONCURRENT_RESTARTS", "CALICO_ETCD_CERT_FILE"):
        assert name in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [], "validation writes nothing"


def test_bad_flag_exits_2():
    result = _run(["--validate-config", "--cni-mtu", "9999"], {})
    assert result.returncode == 2
    assert "--cni-mtu: must be at most 9000" in result.stderr


def test_credentials_in_the_etcd_url_are_refused_without_echoing_the_password():
    """They used to pass validation, then crash the start and reach the log twice."""
    result = _run(["--validate-config"], {
        "CALICO_ETCD_ENDPOINTS": "http://calico:hunter2secret@e1:2379"})
    assert result.returncode == 2
    assert "CALICO_ETCD_ENDPOINTS: credentials in a URL are not supported" in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout
