"""`universe.build`: the package and repo files are valid against the real Universe schemas."""

from __future__ import annotations

import base64
import configparser
from pathlib import Path

import pytest

from framework.config import defaults
from tests.universe.conftest import read_json
from universe import build
from universe.errors import PackageInvalidError

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path("repo/packages/C/calico/0")


def test_layout(built):
    for name in build.PACKAGE_FILES:
        assert (built / PACKAGE_DIR / name).is_file(), name
    for release in ("1.10", "1.11", "1.12", "1.13"):
        assert (built / f"repo-up-to-{release}.json").is_file()


def test_package_files_are_valid_against_universe_schemas(built, schemas):
    package_dir = built / PACKAGE_DIR
    assert not list(schemas.package.iter_errors(read_json(package_dir / "package.json")))
    assert not list(schemas.config_meta.iter_errors(read_json(package_dir / "config.json")))
    assert not list(schemas.resource.iter_errors(read_json(package_dir / "resource.json")))
    for name in build.PACKAGE_FILES:
        assert (package_dir / name).read_text(encoding="utf-8").isascii(), name


@pytest.mark.parametrize("release, version", [
    ("1.9", "v3"), ("1.10", "v4"), ("1.11", "v4"), ("1.12", "v5"), ("1.13", "v5")])
def test_each_repo_index_is_valid_for_its_media_version(built, schemas, release, version):
    index = read_json(built / f"repo-up-to-{release}.json")
    assert not list(schemas.repo[version].iter_errors(index))
    content_type = (built / f"repo-up-to-{release}.content_type").read_text()
    assert content_type == (
        f"application/vnd.dcos.universe.repo+json;charset=utf-8;version={version}")


def test_repo_entry_carries_the_package_as_cosmos_reads_it(built, package):
    (entry,) = read_json(built / "repo-up-to-1.12.json")["packages"]
    assert entry["name"] == "calico"
    assert entry["packagingVersion"] == "4.0"
    assert entry["releaseVersion"] == 0
    assert entry["config"] == package.config
    assert entry["resource"] == package.resource
    template = base64.standard_b64decode(entry["marathon"]["v2AppMustacheTemplate"]).decode()
    assert template == package.marathon_template


def test_clusters_older_than_the_minimum_see_no_package(built):
    assert read_json(built / "repo-up-to-1.9.json") == {"packages": []}


def test_older_clusters_get_the_package_downgraded_to_packaging_3(tmp_path, schemas):
    build.build(tmp_path, schemas, min_dcos="1.9")
    (entry,) = read_json(tmp_path / "repo-up-to-1.9.json")["packages"]
    assert entry["packagingVersion"] == "3.0"
    assert "upgradesFrom" not in entry and "downgradesTo" not in entry
    assert not list(schemas.repo["v3"].iter_errors({"packages": [entry]}))
    (newer,) = read_json(tmp_path / "repo-up-to-1.10.json")["packages"]
    assert newer["packagingVersion"] == "4.0"


def test_the_repo_schemas_reject_what_they_should(schemas, package):
    entry = build.repo_entry(package, 0)
    assert list(schemas.repo["v3"].iter_errors({"packages": [entry]})), "4.0 is not v3"
    broken = {**entry, "releaseVersion": -1}
    assert list(schemas.repo["v4"].iter_errors({"packages": [broken]}))


def test_package_version_and_pins_come_from_one_place(package):
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    assert package.package["version"] == setup["metadata"]["version"]
    assert package.package["version"] == defaults.SCHEDULER_VERSION
    docker = package.resource["assets"]["container"]["docker"]
    uris = package.resource["assets"]["uris"]
    assert docker == {"calico-dcos": defaults.SCHEDULER_IMAGE,
                      "calico-node": defaults.CALICO_NODE_IMAGE}
    assert uris == {"etcd": defaults.ETCD_BINARY_URL, "calico-cni": defaults.CALICO_CNI_URL,
                    "calico-ipam": defaults.CALICO_IPAM_URL}
    assert defaults.CALICO_NODE_IMAGE.endswith(":v2.6.12"), "last Calico line with Mesos"


def _broken(texts, name, old, new):
    assert old in texts[name]
    return {**texts, name: texts[name].replace(old, new, 1)}


@pytest.mark.parametrize("name, old, new, problem", [
    ("config.json", '"CPU shares of the scheduler."', '"CPU shares \u00e9"', "not ASCII"),
    ("config.json", '"default": 0.5,', "", "/service/cpus: required but has no default"),
    ("marathon.json.mustache", "{{/service.scheduler_image}}\",", '",', "does not parse"),
    ("package.json", '"name": "calico"', '"name": "calico-x"', "/name: must be 'calico'"),
    ("package.json", '"tags": [', '"tags": ["has space", ', "package.json /tags/0"),
    ("resource.json", '"images": {', '"images": {"icon-huge": "x",', "resource.json /images"),
    ("marathon.json.mustache", '"DCOS_SERVICE_PORT_INDEX": "0"', '"DCOS_SERVICE_PORT_INDEX": 0',
     "label values must be strings"),
    ("marathon.json.mustache", '"instances": 1,', '"instances": -1,', "Marathon 1.7.236"),
])
def test_check_package_reports_what_universe_ci_would(schemas, name, old, new, problem):
    texts = _broken(build.source_texts(), name, old, new)
    with pytest.raises(PackageInvalidError) as caught:
        build.check_package(texts, schemas)
    assert any(problem in line for line in caught.value.problems), caught.value.problems


def test_failed_build_leaves_the_previous_output_intact(tmp_path, schemas):
    build.build(tmp_path, schemas)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    with pytest.raises(PackageInvalidError):
        build.build(tmp_path, schemas, min_dcos="not-a-version")
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert after == before
