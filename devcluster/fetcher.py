"""The Mesos fetcher's URI semantics: download or copy into the sandbox, then extract or chmod.

Follows docs/fetcher.md: `value` (http, https, file:// or an absolute path), `executable`
(mark +x, never extract), `extract` (default true; only recognised archive suffixes are
unpacked), `output_file` (name inside the sandbox). Any failure fails the whole fetch.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

FETCH_TIMEOUT_S = 30.0
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class FetchError(RuntimeError):
    pass


def fetch_all(uris: list[dict], sandbox: Path) -> None:
    for uri in uris:
        fetch_one(uri, sandbox)


def fetch_one(uri: dict, sandbox: Path) -> Path:
    value = uri.get("value")
    if not isinstance(value, str) or not value:
        raise FetchError("URI without a value")
    parsed = urllib.parse.urlparse(value)
    name = uri.get("output_file") or os.path.basename(parsed.path) or "download"
    target = (sandbox / name).resolve()
    if sandbox.resolve() not in target.parents:
        raise FetchError(f"output_file '{name}' escapes the sandbox")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if parsed.scheme in ("http", "https"):
            with urllib.request.urlopen(value, timeout=FETCH_TIMEOUT_S) as resp, \
                    open(target, "wb") as out:
                shutil.copyfileobj(resp, out)
        elif parsed.scheme in ("file", ""):
            shutil.copyfile(urllib.parse.unquote(parsed.path), target)
        else:
            raise FetchError(f"unsupported URI scheme '{parsed.scheme}' in {value}")
    except (OSError, ValueError) as err:
        raise FetchError(f"Failed to fetch '{value}': {err}") from err
    if uri.get("executable"):
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    elif uri.get("extract", True):
        _extract(target, sandbox)
    return target


def _extract(path: Path, sandbox: Path) -> None:
    name = path.name.lower()
    try:
        if name.endswith(TAR_SUFFIXES):
            with tarfile.open(path) as tar:
                tar.extractall(sandbox, filter="data")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    dest = (sandbox / member).resolve()
                    if sandbox.resolve() not in dest.parents and dest != sandbox.resolve():
                        raise FetchError(f"archive member '{member}' escapes the sandbox")
                archive.extractall(sandbox)
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as err:
        raise FetchError(f"Failed to extract '{path.name}': {err}") from err
