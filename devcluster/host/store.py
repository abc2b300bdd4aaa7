"""Small file primitives for host state: one lock per host, atomic JSON files."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from devcluster.host.errors import StateError


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on lock_path: serialises read-modify-write across processes."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_json(path: Path, default: object) -> object:
    """The JSON value stored at path, or default when the file does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StateError(f"{path}: not valid JSON ({exc})") from exc


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace path with data so readers see either the old or the new content, never half.

    No fsync: simulated state needs to survive a killed process (the rename gives that),
    not a power cut, and a dev cluster prepares a thousand hosts.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_json(path: Path, value: object) -> None:
    write_atomic(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode())
