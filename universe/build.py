"""Build the Universe package and the repo files `dcos package repo add` accepts.

Layout written under `out/`:

    repo/packages/C/calico/<revision>/{package,config,resource}.json, marathon.json.mustache
    repo-up-to-<dcos>.json       one index per DC/OS release line (`DCOS_RELEASES`)
    repo-up-to-<dcos>.content_type   its media type, for static servers
    cli/dcos-calico              the `dcos calico` subcommand resource.json points at

The package's `resource.json` `cli` section gives the DC/OS CLI the subcommand for Linux
and macOS (`kind: executable`, a Python zipapp; Windows cannot run it) with its sha256,
which every DC/OS CLI checks (universe `repo/meta/schema/v3-resource-schema.json`
`cliInfo`). The URL must end in `dcos-calico`: the Go CLI names the installed binary
after it (dcos/dcos-cli 0.7.13 `pkg/plugin/manager.go`), the Python CLI names it
`dcos-<package>` itself (dcos/dcos-core-cli 1.12-patch.12 `python/lib/dcos/dcos/
subcommand.py`).

Each index holds the package entry as Universe's gen_universe.py builds it (package.json
plus `releaseVersion`, `resource`, `config` and the base64 template), filtered by
`minDcosReleaseVersion`, downgraded from packaging 4.0 to 3.0 for clusters older than 1.10,
and validated against the repo schema of its media version. Every file is written to a
temporary name and renamed, so a failed build leaves the previous output intact.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chevron
import jinja2

from framework.config import defaults
from operator_cli import build as cli_build
from universe import render
from universe.errors import PackageInvalidError, UniverseError
from universe.schemas import Schemas, problems

SOURCES = Path(__file__).resolve().parent / "package"
PACKAGE_NAME = "calico"
PACKAGE_REVISION = 0
MIN_DCOS_RELEASE = "1.10"  # Mesos 1.4: MULTI_ROLE frameworks, needed for slave_public
LAST_UPDATED = 1764201600  # 2025-11-27, the release date of this package version
DCOS_RELEASES = ("1.9", "1.10", "1.11", "1.12", "1.13")
PACKAGE_FILES = ("package.json", "config.json", "resource.json", "marathon.json.mustache")
MEDIA_TYPE = "application/vnd.dcos.universe.repo+json;charset=utf-8;version={}"


@dataclass(frozen=True)
class Package:
    """The four package files, parsed where they are JSON."""

    package: dict[str, Any]
    config: dict[str, Any]
    resource: dict[str, Any]
    marathon_template: str


def release_values(min_dcos: str = MIN_DCOS_RELEASE,
                   cli_url: str = defaults.CLI_URL) -> dict[str, Any]:
    """What the Jinja2 templates of the package sources are rendered with."""
    if not cli_url.endswith("/" + cli_build.NAME):
        raise UniverseError(f"the CLI URL must end in /{cli_build.NAME}, not {cli_url!r}")
    return {
        "cli_url": cli_url,
        "cli_sha256": cli_build.sha256(),
        "version": defaults.SCHEDULER_VERSION,
        "min_dcos": min_dcos,
        "last_updated": LAST_UPDATED,
        "calico_version": defaults.CALICO_VERSION,
        "scheduler_image": defaults.SCHEDULER_IMAGE,
        "calico_node_image": defaults.CALICO_NODE_IMAGE,
        "etcd_binary_url": defaults.ETCD_BINARY_URL,
        "calico_cni_url": defaults.CALICO_CNI_URL,
        "calico_ipam_url": defaults.CALICO_IPAM_URL,
    }


def source_texts(min_dcos: str = MIN_DCOS_RELEASE,
                 cli_url: str = defaults.CLI_URL) -> dict[str, str]:
    """The package files' text: Jinja2 sources rendered, static sources read as they are."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SOURCES),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)  # noqa: S701 - renders JSON, never HTML
    values = release_values(min_dcos, cli_url)
    texts = {}
    for name in PACKAGE_FILES:
        if (SOURCES / f"{name}.j2").is_file():
            texts[name] = env.get_template(f"{name}.j2").render(values)
        else:
            texts[name] = (SOURCES / name).read_text(encoding="utf-8")
    return texts


def parse_package(texts: Mapping[str, str]) -> Package:
    found = []
    parsed: dict[str, Any] = {}
    for name in ("package.json", "config.json", "resource.json"):
        try:
            parsed[name] = json.loads(texts[name])
        except json.JSONDecodeError as err:
            found.append(f"{name}: not JSON: {err}")
    if found:
        raise PackageInvalidError(found)
    return Package(parsed["package.json"], parsed["config.json"], parsed["resource.json"],
                   texts["marathon.json.mustache"])


def check_package(texts: Mapping[str, str], schemas: Schemas) -> Package:
    """Universe CI's checks plus ours; raises PackageInvalidError listing every problem."""
    package = parse_package(texts)
    found = [f"{name}: not ASCII" for name, text in texts.items() if not text.isascii()]
    found += problems(schemas.package, package.package, "package.json")
    found += problems(schemas.config_meta, package.config, "config.json")
    found += problems(schemas.resource, package.resource, "resource.json")
    found += _required_without_default(package.config)
    if package.package.get("name") != PACKAGE_NAME:
        found.append(f"package.json /name: must be {PACKAGE_NAME!r} (the directory name)")
    try:
        chevron.render(package.marathon_template, {})
    except chevron.ChevronError as err:
        found.append(f"marathon.json.mustache: does not parse: {err}")
    if found:
        raise PackageInvalidError(found)
    try:
        app = render.render_app(package.marathon_template, package.config, package.resource, {})
    except UniverseError as err:
        raise PackageInvalidError([f"marathon.json.mustache with defaults: {err}"]) from None
    for release, validator in schemas.marathon.items():
        found += problems(validator, app, f"app (Marathon {release}) with defaults")
    if found:
        raise PackageInvalidError(found)
    return package


def _required_without_default(schema: Mapping[str, Any], pointer: str = "") -> list[str]:
    """The DC/OS UI's one-click install needs a default for every required property."""
    found = []
    required = schema.get("required", [])
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "object":
            found += _required_without_default(prop, f"{pointer}/{name}")
        elif name in required and "default" not in prop:
            found.append(f"config.json {pointer}/{name}: required but has no default")
    return found


def repo_entry(package: Package, revision: int) -> dict[str, Any]:
    """The package as one entry of a repo index, shaped like gen_universe.py's."""
    entry = dict(package.package)
    entry["releaseVersion"] = revision
    entry["resource"] = package.resource
    entry["config"] = package.config
    entry["marathon"] = {"v2AppMustacheTemplate": base64.standard_b64encode(
        package.marathon_template.encode("utf-8")).decode("ascii")}
    return entry


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def media_version(dcos_release: str) -> str:
    """The repo media version a cluster of this DC/OS release line asks for."""
    key = _release_key(dcos_release)
    if key < (1, 10):
        return "v3"
    return "v4" if key < (1, 12) else "v5"


def downgrade_to_v3(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Packaging 4.0 -> 3.0 for clusters older than DC/OS 1.10 (no upgrade metadata)."""
    downgraded = dict(entry)
    if downgraded.get("packagingVersion") == "4.0":
        downgraded.pop("upgradesFrom", None)
        downgraded.pop("downgradesTo", None)
        downgraded["packagingVersion"] = "3.0"
    return downgraded


def repo_index(entries: list[dict[str, Any]], dcos_release: str) -> dict[str, Any]:
    """The repo a cluster of `dcos_release` sees: compatible packages in its format."""
    key = _release_key(dcos_release)
    visible = [entry for entry in entries
               if _release_key(entry.get("minDcosReleaseVersion", "0")) <= key]
    if media_version(dcos_release) == "v3":
        visible = [downgrade_to_v3(entry) for entry in visible]
    return {"packages": visible}


def build(out: Path, schemas: Schemas, *, min_dcos: str = MIN_DCOS_RELEASE,
          revision: int = PACKAGE_REVISION, cli_url: str = defaults.CLI_URL) -> list[Path]:
    """Check the package, then write it, the repo indexes and the CLI under `out`; returns
    the files."""
    texts = source_texts(min_dcos, cli_url)
    package = check_package(texts, schemas)
    entries = [repo_entry(package, revision)]
    found: list[str] = []
    indexes = {}
    for release in DCOS_RELEASES:
        index = repo_index(entries, release)
        found += problems(schemas.repo[media_version(release)], index,
                          f"repo-up-to-{release}.json")
        indexes[release] = index
    if found:
        raise PackageInvalidError(found)
    package_dir = out / "repo" / "packages" / PACKAGE_NAME[0].upper() / PACKAGE_NAME / str(
        revision)
    written = [_write(package_dir / name, texts[name]) for name in PACKAGE_FILES]
    written.append(cli_build.build(out / "cli" / cli_build.NAME))
    for release, index in indexes.items():
        written.append(_write(out / f"repo-up-to-{release}.json", json.dumps(index, indent=1)))
        written.append(_write(out / f"repo-up-to-{release}.content_type",
                              MEDIA_TYPE.format(media_version(release))))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                     prefix=f".{path.name}.", delete=False) as handle:
        handle.write(text)
        temporary = Path(handle.name)
    os.chmod(temporary, 0o644)
    temporary.replace(path)
    return path

