"""Which DC/OS cluster and login `dcos calico` uses: the Go CLI's environment, else the
attached cluster's dcos.toml, on the configuration layouts the SDK CLI is tested with."""

from __future__ import annotations

import ast
import shutil
import tomllib
from pathlib import Path

import pytest

from operator_cli import dcos
from operator_cli.api import CliError
from tests.reference import REFERENCE

LAYOUTS = REFERENCE / "dcos-cli-config"
CLUSTER_1 = dcos.DcosCluster(
    "http://cluster-1.com/", "cluster-1-token",
    "/path/to/.dcos/clusters/e266cd62-5b75-4b17-87a6-7b29d8ec0df4/dcos_ca.crt")
CLUSTER_2 = dcos.DcosCluster(
    "http://cluster-2.com/", "cluster-2-token",
    "/path/to/.dcos/clusters/12345678-1234-1234-1234-123456789012/dcos_ca.crt")
OLD = dcos.DcosCluster("http://old-cluster.com/", "old-cluster-token", False)


def _env(layout: str, **extra: str) -> dict[str, str]:
    return {"DCOS_DIR": str(LAYOUTS / layout), **extra}


@pytest.mark.parametrize(("layout", "extra", "expected"), [
    ("new", {}, CLUSTER_1),
    ("both", {}, CLUSTER_1),  # clusters/ wins over the old single config
    ("old", {}, OLD),
    ("new", {"DCOS_CLUSTER": "cluster-2"}, CLUSTER_2),
    ("two-attached", {"DCOS_CLUSTER": "12345678-1234-1234-1234-123456789012"}, CLUSTER_2),
])
def test_the_attached_cluster_and_its_login(layout, extra, expected):
    assert dcos.attached_cluster(_env(layout, **extra)) == expected


@pytest.mark.parametrize(("env", "message"), [
    (_env("two-attached"), "several DC/OS clusters are attached"),
    (_env("new", DCOS_CLUSTER="nope"), "no DC/OS cluster named 'nope'"),
    ({"DCOS_DIR": "/nonexistent"}, "dcos cluster setup"),
])
def test_no_usable_cluster_is_a_clear_error(env, message):
    with pytest.raises(CliError, match=message):
        dcos.attached_cluster(env)


def test_a_single_cluster_is_attached_even_without_the_marker(tmp_path):
    shutil.copytree(LAYOUTS / "new" / "clusters" / "12345678-1234-1234-1234-123456789012",
                    tmp_path / "clusters" / "c1")
    assert dcos.attached_cluster({"DCOS_DIR": str(tmp_path)}) == CLUSTER_2


def test_the_go_cli_environment_wins(tmp_path):
    env = _env("new", DCOS_URL="https://dcos.example", DCOS_ACS_TOKEN="t",
               DCOS_TLS_CA_PATH="/ca.pem")
    assert dcos.attached_cluster(env) == dcos.DcosCluster("https://dcos.example", "t", "/ca.pem")
    env = {"DCOS_URL": "https://dcos.example", "DCOS_TLS_INSECURE": "1"}
    assert dcos.attached_cluster(env) == dcos.DcosCluster("https://dcos.example", None, False)


@pytest.mark.parametrize("path", sorted(LAYOUTS.rglob("dcos.toml")),
                         ids=lambda p: str(p.relative_to(LAYOUTS)))
def test_the_toml_subset_reads_what_tomllib_reads(path):
    text = path.read_text()
    assert dcos.read_toml(text) == tomllib.loads(text)


def test_the_toml_subset_handles_escapes_comments_and_skips_arrays():
    text = ('# written by dcos\n[core]\ndcos_url = "https://a.example/" # trailing\n'
            'dcos_acs_token = "e\\u00e9\\"q\\\\"\nssl_verify = false\nreporting = 1\n'
            "[package]\nsources = [\"https://x\", \"https://y\"]\nlit = 'C:\\path'\n")
    assert dcos.read_toml(text) == {
        "core": {"dcos_url": "https://a.example/", "dcos_acs_token": 'eé"q\\',
                 "ssl_verify": False, "reporting": 1},
        "package": {"lit": "C:\\path"}}


@pytest.mark.parametrize("module", sorted(Path(dcos.__file__).parent.glob("*.py")),
                         ids=lambda p: p.name)
def test_the_cli_parses_as_python_3_8(module):
    """dcos-calico runs on operators' machines: no syntax newer than Python 3.8."""
    ast.parse(module.read_text(), feature_version=(3, 8))
