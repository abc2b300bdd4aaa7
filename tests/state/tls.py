"""A throwaway CA, server and client certificates (openssl CLI) and an etcd serving TLS.

devcluster's EtcdServer speaks plain http only, so the TLS member is started here.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devcluster.etcd import EtcdError, etcd_binary
from devcluster.ports import free_port, wait_for_port

START_DEADLINE_S = 30.0
HOST = "127.0.0.1"


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
             cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


def _signed(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
             "-out", f"{name}.pem", cwd=directory)


def make_certs(directory: Path) -> Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    ca = make_ca(directory)
    _signed(directory, "server", ca,
            f"subjectAltName=IP:{HOST}\nextendedKeyUsage=serverAuth,clientAuth\n")
    _signed(directory, "client", ca, "extendedKeyUsage=clientAuth\n")
    return Certs(ca[0], directory / "server.pem", directory / "server.key",
                 directory / "client.pem", directory / "client.key")


class TLSEtcd:
    """One etcd member serving clients over https and requiring client certificates."""

    def __init__(self, data_dir: Path, certs: Certs, enable_v2: bool = False) -> None:
        self.data_dir = data_dir
        self.certs = certs
        self.enable_v2 = enable_v2
        self.port = free_port(HOST)
        self.peer_port = free_port(HOST)
        self._proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"https://{HOST}:{self.port}"

    def __enter__(self) -> TLSEtcd:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        peer = f"http://{HOST}:{self.peer_port}"
        with open(self.data_dir / "etcd.log", "ab") as log:
            self._proc = subprocess.Popen(
                [etcd_binary(), "--name", "tls", "--data-dir", str(self.data_dir / "data"),
                 "--listen-client-urls", self.endpoint,
                 "--advertise-client-urls", self.endpoint,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", f"tls={peer}",
                 "--cert-file", str(self.certs.server_cert),
                 "--key-file", str(self.certs.server_key),
                 "--trusted-ca-file", str(self.certs.ca), "--client-cert-auth",
                 "--log-level", "error", *(["--enable-v2"] if self.enable_v2 else [])],
                stdout=log, stderr=subprocess.STDOUT)
        if not wait_for_port(HOST, self.port, START_DEADLINE_S):
            self.__exit__()
            raise EtcdError(f"TLS etcd did not start; see {self.data_dir}/etcd.log")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
