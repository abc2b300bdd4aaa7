"""File operations that never leave a half-written file behind."""

import contextlib
import errno
import hashlib
import os
import tempfile
from typing import List, Optional

from installer.errors import HostError


def read_bytes(path: str) -> Optional[bytes]:
    """The file's bytes, or None when it does not exist; other failures are HostError."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise HostError("cannot read {}: {}".format(path, err.strerror or err)) from err


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_mode(path: str, default: int) -> int:
    """The permission bits of path, or default when it does not exist."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return default
    except OSError as err:
        raise HostError("cannot stat {}: {}".format(path, err.strerror)) from err


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def missing_dirs(path: str) -> List[str]:
    """The directories that ensure_dir(path) would create, outermost first."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise HostError("{} exists and is not a directory".format(current))
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return list(reversed(missing))


def ensure_dir(path: str) -> List[str]:
    """Create path and its parents; return the directories created, outermost first."""
    created = missing_dirs(path)
    for directory in created:
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            continue
        except OSError as err:
            raise HostError("cannot create {}: {}".format(directory, err.strerror)) from err
    return created


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace path with data: temp file in the same dir, fsync, rename, fsync the dir."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".calico-tmp-", dir=directory)
    except OSError as err:
        raise HostError("cannot write {}: {}".format(path, err.strerror)) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        fsync_dir(directory)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise HostError("cannot write {}: {}".format(path, err.strerror or err)) from err


def remove_file(path: str) -> bool:
    """Remove path when present (and fsync its dir); True when something was removed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as err:
        raise HostError("cannot remove {}: {}".format(path, err.strerror)) from err
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def remove_empty_dirs(paths: List[str]) -> None:
    """Remove the given directories innermost first, skipping any that are not empty."""
    for directory in sorted(paths, key=len, reverse=True):
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            continue
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                continue
            raise HostError("cannot remove {}: {}".format(directory, err.strerror)) from err


def check_writable_dir(path: str) -> None:
    """Fail early, before any change, when path (or its nearest existing parent) is read-only."""
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if not os.access(current, os.W_OK | os.X_OK):
        raise HostError("cannot write to {}: permission denied or read-only".format(current))
