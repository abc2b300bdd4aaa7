"""The Mesos fetcher's URI semantics: download or copy into the sandbox, then extract or chmod.

Follows docs/fetcher.md: `value` (http, https, file:// or an absolute path), `executable`
(mark +x, never extract), `extract` (default true; only the recognised suffixes are
unpacked: tar archives, .zip, and single .gz files), `output_file` (a relative name inside
the sandbox). Plain paths must be absolute. Any failure fails the whole fetch.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from devcluster.errors import FetchError

FETCH_TIMEOUT_S = 30.0
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def fetch_all(uris: list[dict], sandbox: Path) -> None:
    for uri in uris:
        fetch_one(uri, sandbox)


def fetch_one(uri: dict, sandbox: Path) -> Path:
    value = uri.get("value") if isinstance(uri, dict) else None
    if not isinstance(value, str) or not value:
        raise FetchError("URI without a value")
    output_file = uri.get("output_file")
    if output_file is not None and not isinstance(output_file, str):
        raise FetchError(f"output_file of '{value}' must be a string")
    parsed = urllib.parse.urlparse(value)
    name = output_file or os.path.basename(parsed.path) or "download"
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
            source = urllib.parse.unquote(parsed.path)
            if not os.path.isabs(source):
                raise FetchError(f"A relative path was passed for the resource '{value}' "
                                 "but no frameworks home is configured")
            shutil.copyfile(source, target)
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
        elif name.endswith(".gz"):
            with gzip.open(path) as src, open(path.with_suffix(""), "wb") as out:
                shutil.copyfileobj(src, out)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    dest = (sandbox / member).resolve()
                    if sandbox.resolve() not in dest.parents and dest != sandbox.resolve():
                        raise FetchError(f"archive member '{member}' escapes the sandbox")
                archive.extractall(sandbox)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as err:
        raise FetchError(f"Failed to extract '{path.name}': {err}") from err
