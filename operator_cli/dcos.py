"""Where the DC/OS CLI says the cluster is, and the user's login to it.

The DC/OS CLI of 1.12/1.13 (Go, dcos/dcos-cli 0.7-0.8, `pkg/cmd/dcos.go` `invokePlugin`)
runs a subcommand with `DCOS_URL`, `DCOS_ACS_TOKEN` and either `DCOS_TLS_INSECURE=1` or
`DCOS_TLS_CA_PATH` in its environment. The Python CLI of 1.10/1.11 (dcos-cli 0.5-0.6)
passes none of these, so the subcommand reads the attached cluster's `dcos.toml` as the
CLI does (`dcos/config.py` `get_attached_cluster_path`, `get_config_path` at 0.5.14) and as
SDK services' CLIs do (dcos-commons v0.56.3 `cli/client/dcoscli.go` `cliDiskConfig`):

- the config directory is `$DCOS_DIR`, else `~/.dcos`;
- under `clusters/`, the cluster named by `$DCOS_CLUSTER` (its directory name, the id, or
  its `cluster.name`), else the one directory holding an `attached` file, else the only
  cluster there is; several attached clusters are an error;
- with no `clusters/`, the single-cluster `$DCOS_CONFIG` or `<dir>/dcos.toml`.

The values used: `core.dcos_url`, `core.dcos_acs_token` (what `dcos auth login` stores),
`core.ssl_verify` (`"true"`, `"false"` or the path of a CA bundle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from operator_cli.api import EXIT_USAGE, CliError

SETUP_HINT = "set up the DC/OS CLI with 'dcos cluster setup <URL>' and log in"


@dataclass(frozen=True)
class DcosCluster:
    """A DC/OS cluster and the user's login: `verify` is True (the system's CAs), False
    (no TLS verification) or the path of a CA bundle."""

    url: str
    token: str | None
    verify: bool | str


def attached_cluster(environ: Mapping[str, str]) -> DcosCluster:
    """The cluster the DC/OS CLI is attached to; CliError when there is none."""
    if environ.get("DCOS_URL"):
        verify: bool | str = True
        if environ.get("DCOS_TLS_INSECURE") == "1":
            verify = False
        elif environ.get("DCOS_TLS_CA_PATH"):
            verify = environ["DCOS_TLS_CA_PATH"]
        return DcosCluster(environ["DCOS_URL"], environ.get("DCOS_ACS_TOKEN") or None, verify)
    path = config_path(environ)
    config = read_config(path)
    core = config.get("core") if isinstance(config.get("core"), dict) else {}
    url = core.get("dcos_url")
    if not isinstance(url, str) or not url:
        raise CliError(f"{path} names no cluster (core.dcos_url): {SETUP_HINT}", EXIT_USAGE)
    token = core.get("dcos_acs_token")
    return DcosCluster(url, token if isinstance(token, str) and token else None,
                       _verify(core.get("ssl_verify")))


def _verify(value: Any) -> bool | str:
    if value is None or value is True or str(value).lower() == "true":
        return True
    if value is False or str(value).lower() == "false":
        return False
    return str(value)


def config_path(environ: Mapping[str, str]) -> Path:
    """The dcos.toml of the attached cluster."""
    root = Path(environ.get("DCOS_DIR") or Path(environ.get("HOME") or "~").expanduser()
                / ".dcos")
    clusters = root / "clusters"
    found = sorted(p for p in clusters.iterdir() if p.is_dir()) if clusters.is_dir() else []
    wanted = environ.get("DCOS_CLUSTER")
    if found and wanted:
        for cluster in found:
            name = (read_config(cluster / "dcos.toml").get("cluster") or {}).get("name")
            if wanted in (cluster.name, name):
                return cluster / "dcos.toml"
        raise CliError(f"no DC/OS cluster named {wanted!r} (DCOS_CLUSTER) under {clusters}",
                       EXIT_USAGE)
    attached = [cluster for cluster in found if (cluster / "attached").exists()]
    if len(attached) > 1:
        raise CliError(f"several DC/OS clusters are attached under {clusters}: run "
                       "'dcos cluster attach <name>'", EXIT_USAGE)
    if attached or len(found) == 1:
        return (attached or found)[0] / "dcos.toml"
    if found:
        raise CliError(f"no DC/OS cluster is attached under {clusters}: run "
                       "'dcos cluster attach <name>'", EXIT_USAGE)
    single = Path(environ["DCOS_CONFIG"]) if environ.get("DCOS_CONFIG") else root / "dcos.toml"
    if not single.is_file():
        raise CliError(f"no DC/OS CLI configuration in {root}: {SETUP_HINT}", EXIT_USAGE)
    return single


def read_config(path: Path) -> dict[str, Any]:
    """dcos.toml as nested tables; CliError when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"cannot read {path}: {err}", EXIT_USAGE) from None
    try:
        import tomllib  # Python >= 3.11
    except ImportError:
        return read_toml(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CliError(f"{path} is not TOML: {err}", EXIT_USAGE) from None


_TABLE = re.compile(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]$")
_KEY = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s*(.*)$")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def read_toml(text: str) -> dict[str, Any]:
    """The subset of TOML the DC/OS CLI writes (tables of strings, booleans and integers),
    for Pythons without `tomllib`; values of other kinds (arrays) are left out."""
    document: dict[str, Any] = {}
    table = document
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        header = _TABLE.match(line)
        if header:
            table = document
            for part in header.group(1).split("."):
                table = table.setdefault(part, {})
            continue
        pair = _KEY.match(line)
        if pair:
            value = _value(pair.group(2))
            if value is not None:
                table[pair.group(1)] = value
    return document


def _value(raw: str) -> Any:
    if raw.startswith('"'):
        return _basic_string(raw)
    if raw.startswith("'"):
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else None
    word = raw.split("#", 1)[0].strip()
    if word in ("true", "false"):
        return word == "true"
    return int(word) if re.fullmatch(r"[+-]?\d+", word) else None


def _basic_string(raw: str) -> str | None:
    out = []
    index = 1
    while index < len(raw):
        char = raw[index]
        if char == '"':
            return "".join(out)
        if char == "\\" and index + 1 < len(raw):
            code = raw[index + 1]
            if code == "u" and index + 5 < len(raw):
                out.append(chr(int(raw[index + 2:index + 6], 16)))
                index += 6
                continue
            out.append(_ESCAPES.get(code, code))
            index += 2
            continue
        out.append(char)
        index += 1
    return None

