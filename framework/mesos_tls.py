"""The pymesos driver over TLS, for masters that take only https (DC/OS strict mode).

pymesos 0.3.15 speaks plain HTTP only: its subscription stream is a non-blocking socket
driven by `pymesos.process.Connection`, and its calls and `/version` use
`http.client.HTTPConnection`. Here the stream's socket is wrapped in TLS once the TCP
connection is up (a blocking handshake bounded by HANDSHAKE_TIMEOUT_S), and the calls use
`HTTPSConnection`, both verifying the master's certificate against the cluster CA.

pymesos builds its `Connection` by module global name inside `Process._run`, so that name
is replaced, once, with a factory that keeps the plain connection for every driver without
a TLS context.
"""

from __future__ import annotations

import errno
import json
import logging
import ssl
from http.client import HTTPSConnection
from typing import Any

import pymesos.process
from pymesos import MesosSchedulerDriver

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 10.0
_PLAIN_CONNECTION = pymesos.process.Connection


def client_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifies the peer's certificate and host name against `ca_file` (None: the system's)."""
    return ssl.create_default_context(cafile=ca_file)


class _TlsSocket:
    """An `ssl.SSLSocket` that reports "try again" the way pymesos expects of a plain
    non-blocking socket (EAGAIN) when TLS needs more bytes in either direction."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self._sock = sock

    def recv(self, size: int) -> bytes:
        try:
            return self._sock.recv(size)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise BlockingIOError(errno.EAGAIN, "TLS needs more data") from None

    def send(self, data: bytes) -> int:
        try:
            return self._sock.send(data)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise BlockingIOError(errno.EAGAIN, "TLS needs more data") from None

    def pending(self) -> int:
        return self._sock.pending()

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()


class TlsConnection(_PLAIN_CONNECTION):
    """pymesos' subscription connection with TLS over its socket."""

    def __init__(self, addr: str, callback: Any, context: ssl.SSLContext) -> None:
        super().__init__(addr, callback)
        self._context = context

    def handle_connect_event(self) -> str:
        problem = super().handle_connect_event()
        if problem:
            return problem
        host = self.addr[0]
        raw = self._sock
        try:
            raw.settimeout(HANDSHAKE_TIMEOUT_S)
            wrapped = self._context.wrap_socket(raw, server_hostname=host)
            wrapped.setblocking(False)
        except (OSError, ssl.SSLError) as err:
            self.connected = False
            return f"TLS handshake with {host} failed: {err}"
        self._sock = _TlsSocket(wrapped)
        return ""

    def read(self) -> bool:
        # Bytes TLS has already decrypted do not wake select(): read them all now.
        alive = super().read()
        while alive and self._sock is not None and self._sock.pending():
            alive = super().read()
        return alive


def _connection(addr: str, callback: Any) -> Any:
    context = getattr(callback, "tls_context", None)
    if context is None:
        return _PLAIN_CONNECTION(addr, callback)
    return TlsConnection(addr, callback, context)


pymesos.process.Connection = _connection


class TlsDriverMixin:
    """Makes a `MesosSchedulerDriver` (sub)class reach the master over https.

    Set `tls_context` before `start()`."""

    tls_context: ssl.SSLContext | None = None

    def _https(self, master: str) -> HTTPSConnection:
        host, port = master.split(":", 2)
        return HTTPSConnection(host, int(port), timeout=self._timeout, context=self.tls_context)

    def _get_version(self, master: str | None) -> str | None:
        if master is None:
            return None
        conn = self._https(master)
        try:
            conn.request("GET", "/version")
            response = conn.getresponse()
            if not 200 <= response.status < 300:
                return None
            return json.loads(response.read().decode("utf-8"))["version"]
        except (OSError, ValueError, KeyError) as err:
            log.warning("could not read the master's version from %s: %s", master, err)
            return None
        finally:
            conn.close()

    def _get_conn(self) -> HTTPSConnection | None:
        if not self.connected:
            return None
        if self._conn is None:
            self._conn = self._https(self.master)
        return self._conn


def with_tls(driver_class: type[MesosSchedulerDriver]) -> type[MesosSchedulerDriver]:
    """`driver_class` speaking https to the master."""
    return type(f"Tls{driver_class.__name__}", (TlsDriverMixin, driver_class), {})

