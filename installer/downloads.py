"""Fetched files are checked against their configured sha256 before anything uses them.

The Mesos fetcher only downloads (and never verifies), so every binary that will run as root
on the agent passes through here first; a mismatch fails the step before it changes
anything.
"""

import hashlib
import logging
import os
import shutil
import tarfile
from typing import Optional

from installer.errors import BadInput, ChecksumMismatch

CHUNK = 1 << 20
EXECUTABLE = 0o755

log = logging.getLogger("calico-installer")


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except OSError as err:
        raise BadInput("cannot read {}: {}".format(path, err.strerror)) from err
    return digest.hexdigest()


def verify(path: str, expected: Optional[str], what: str) -> None:
    """Raise ChecksumMismatch unless the file's sha256 is `expected` (None: not pinned)."""
    check(file_sha256(path), expected, "{} {}".format(what, os.path.basename(path)))


def check(actual: str, expected: Optional[str], what: str) -> None:
    """Compare a computed digest with the configured one; log an unpinned file."""
    if expected is None:
        log.warning("%s is not pinned to a sha256 (it has %s); not verified", what, actual)
    elif actual != expected.lower():
        raise ChecksumMismatch("{} has sha256 {}, not the configured {}; nothing was "
                               "installed".format(what, actual, expected.lower()))
    else:
        log.info("%s matches its sha256", what)


def unpack_member(archive: str, name: str, dest: str) -> str:
    """Copy the regular file called `name` at the top of the archive or one directory down
    (`etcd-v3.5.33-linux-amd64/etcd`, the layout of etcd's release archives) to `dest`,
    executable. Nothing else of the archive is written."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                parts = member.name.strip("./").split("/")
                if parts[-1] == name and len(parts) <= 2 and member.isfile():
                    source = tar.extractfile(member)
                    if source is None:
                        break
                    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
                    with source, open(dest, "wb") as out:
                        shutil.copyfileobj(source, out, CHUNK)
                    os.chmod(dest, EXECUTABLE)
                    return dest
    except (OSError, tarfile.TarError, EOFError) as err:
        raise BadInput("cannot unpack {}: {}".format(os.path.basename(archive), err)) from err
    raise BadInput("{} holds no '{}' binary (expected <dir>/{} as in etcd's release "
                   "archives)".format(os.path.basename(archive), name, name))
