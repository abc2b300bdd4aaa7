"""One logical etcd connection over several endpoints, with TLS and failover.

Each endpoint (`http://host:port` or `https://host:port`) gets its own etcd3 client. A
call goes to the endpoint that answered last; when it is unreachable or too slow the call
moves on to the next one, and only when every endpoint failed does it raise
`StoreUnavailable`. Retrying a write on another endpoint is safe because every write this
package makes is a compare-and-swap: a write that did land makes its retry lose the compare.

The raw etcd3 client ignores range limits and hides response headers, so ranges, txns and
leases are sent as etcd protobuf requests through the client's own stubs.

With etcd authentication, each endpoint's client logs in with the `Authenticate` RPC when it
is first used and sends the token as `token` metadata on every request (etcd-io/etcd
v3.5.1, api/etcdserverpb/rpc.proto `Auth.Authenticate`; api/v3rpc/rpctypes/metadatafields.go
`TokenFieldNameGRPC`). etcd3 0.12 would log in inside its constructor, so one etcd that is
down at start would stop the scheduler; here the login waits for the first call. etcd's
default "simple" tokens live in its memory for `--auth-token-ttl` (300 s) after their last
use and are forgotten by a restart (server/auth/simple_token.go); a call refused with
UNAUTHENTICATED ("invalid auth token") logs in again and is sent once more.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import etcd3
import etcd3.etcdrpc as rpc
import grpc

from framework.state.errors import (
    StoreAuthError,
    StoreConfigError,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ETCD_PORT = 2379
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# grpc backs off up to two minutes between reconnects by default; a restarted etcd should
# be used again within about a second.
MAX_RECONNECT_BACKOFF_MS = 1000
# grpc gives up a connection attempt after this (its "min reconnect backoff"); an endpoint
# that accepts TCP but never speaks is then skipped without waiting for the call timeout.
MIN_CONNECT_TIMEOUT_MS = 1000
_GRPC_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", MIN_CONNECT_TIMEOUT_MS),
    ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # etcd is reached directly; an http_proxy meant for downloads must not capture it.
    ("grpc.enable_http_proxy", 0),
]
_UNAVAILABLE_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}

T = TypeVar("T")


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for https endpoints: the CA is required, cert and key go together."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if not self.ca_file:
            raise StoreConfigError("etcd TLS needs the CA file that signed the etcd servers")
        if (self.cert_file is None) != (self.key_file is None):
            raise StoreConfigError("etcd TLS: a client certificate needs its key and vice versa")
        for label, path in (("CA", self.ca_file), ("certificate", self.cert_file),
                            ("key", self.key_file)):
            if path is not None and not Path(path).is_file():
                raise StoreConfigError(f"etcd TLS {label} file {path!r} does not exist")


@dataclass(frozen=True)
class Credentials:
    """An etcd user and password (etcd auth enabled); the password stays out of repr."""

    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.user or not self.password:
            raise StoreConfigError("etcd authentication needs a user name and a password")


@dataclass(frozen=True)
class Endpoint:
    secure: bool
    host: str
    port: int

    @property
    def url(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """`http://host:port` or `https://host:port` (port defaults to 2379; IPv6 in brackets)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port or DEFAULT_ETCD_PORT
    except ValueError as err:
        raise StoreConfigError(f"etcd endpoint {text!r}: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreConfigError(f"etcd endpoint {text!r} must look like http://host:port "
                               "or https://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise StoreConfigError(f"etcd endpoint {text!r} must be only scheme, host and port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Endpoint(secure=parts.scheme == "https", host=host, port=port)


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int


@dataclass(frozen=True)
class RangeResult:
    kvs: list[KeyValue]
    more: bool
    revision: int


@dataclass(frozen=True)
class TxnResult:
    succeeded: bool
    revision: int
    # For each `get` op of the branch that ran, the key-values it returned.
    ranges: list[list[KeyValue]]


def _kv(kv: object) -> KeyValue:
    return KeyValue(kv.key.decode(), kv.value, kv.create_revision, kv.mod_revision, kv.lease)


# Transaction building blocks, kept as plain etcd protobuf messages.

def put(key: str, value: bytes, lease: int = 0) -> rpc.RequestOp:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key.encode(), value=value, lease=lease))


def delete_range(key: str, end: str | None = None) -> rpc.RequestOp:
    request = rpc.DeleteRangeRequest(key=key.encode())
    if end is not None:
        request.range_end = end.encode()
    return rpc.RequestOp(request_delete_range=request)


def get(key: str) -> rpc.RequestOp:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key.encode()))


def mod_revision_is(key: str, revision: int) -> rpc.Compare:
    """True when `key` was last written at `revision`; revision 0 means the key is absent."""
    return rpc.Compare(key=key.encode(), target=rpc.Compare.MOD,
                       result=rpc.Compare.EQUAL, mod_revision=revision)


def create_revision_is(key: str, revision: int) -> rpc.Compare:
    return rpc.Compare(key=key.encode(), target=rpc.Compare.CREATE,
                       result=rpc.Compare.EQUAL, create_revision=revision)


class EtcdConnection:
    """Thread-safe access to an etcd cluster through any of its endpoints."""

    def __init__(self, endpoints: Sequence[str], tls: TLSFiles | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S,
                 credentials: Credentials | None = None) -> None:
        if isinstance(endpoints, str) or not endpoints:
            raise StoreConfigError("etcd endpoints: give a non-empty list of URLs")
        if timeout_s <= 0:
            raise StoreConfigError(f"etcd timeout must be positive, not {timeout_s}")
        self.endpoints = [parse_endpoint(text) for text in endpoints]
        if any(e.secure for e in self.endpoints) and tls is None:
            raise StoreConfigError("https etcd endpoints need a TLS CA file")
        self.timeout_s = timeout_s
        self.credentials = credentials
        self._clients = [self._client(e, tls) for e in self.endpoints]
        self._tokens: list[str | None] = [None] * len(self._clients)
        self._current = 0
        self._lock = threading.Lock()

    def _client(self, endpoint: Endpoint, tls: TLSFiles | None) -> etcd3.Etcd3Client:
        files = {}
        if endpoint.secure and tls is not None:
            files = {"ca_cert": tls.ca_file, "cert_cert": tls.cert_file,
                     "cert_key": tls.key_file}
        try:
            return etcd3.Etcd3Client(host=endpoint.host, port=endpoint.port,
                                     timeout=self.timeout_s, grpc_options=_GRPC_OPTIONS, **files)
        except OSError as err:
            raise StoreConfigError(f"etcd TLS files for {endpoint.url}: {err}") from None

    @property
    def current_endpoint(self) -> str:
        """The URL of the endpoint calls go to first (the one that answered last)."""
        return self.endpoints[self._current].url

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def _call(self, what: str, request: Callable[[etcd3.Etcd3Client], T]) -> T:
        """Run `request` on the current endpoint, failing over to the others in turn."""
        with self._lock:
            start = self._current
        failures = []
        for step in range(len(self._clients)):
            index = (start + step) % len(self._clients)
            try:
                result = self._authenticated(index, request)
            except grpc.RpcError as err:
                problem = f"{err.code().name}: {err.details()}"
                if err.code() not in _UNAVAILABLE_CODES:
                    raise StoreError(f"etcd {what} refused: {problem}") from None
                failures.append(f"{self.endpoints[index].url}: {problem}")
                continue
            if index != start:
                log.info("etcd: now using %s", self.endpoints[index].url)
                with self._lock:
                    self._current = index
            return result
        raise StoreUnavailable(f"etcd {what} failed on every endpoint: " + "; ".join(failures))

    def _authenticated(self, index: int, request: Callable[[etcd3.Etcd3Client], T]) -> T:
        """`request` on endpoint `index`, logged in first when etcd auth is configured."""
        client = self._clients[index]
        if self.credentials is None:
            return request(client)
        if self._tokens[index] is None:
            self._log_in(index)
        try:
            return request(client)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
        log.info("etcd at %s forgot this scheduler's token; logging in again",
                 self.endpoints[index].url)
        self._log_in(index)
        return request(client)

    def _log_in(self, index: int) -> None:
        credentials = self.credentials
        if credentials is None:
            return
        stub = rpc.AuthStub(self._clients[index].channel)
        login = rpc.AuthenticateRequest(name=credentials.user, password=credentials.password)
        try:
            token = stub.Authenticate(login, self.timeout_s).token
        except grpc.RpcError as err:
            if err.code() in _UNAVAILABLE_CODES:
                raise
            raise StoreAuthError(f"etcd at {self.endpoints[index].url} refused user "
                                 f"{credentials.user!r}: {err.details()}") from None
        with self._lock:
            self._tokens[index] = token

    def _metadata(self, client: etcd3.Etcd3Client) -> tuple[tuple[str, str], ...] | None:
        token = self._tokens[self._clients.index(client)]
        return None if token is None else (("token", token),)

    def _unary(self, client: etcd3.Etcd3Client, method: Callable, request: object) -> object:
        return method(request, self.timeout_s, metadata=self._metadata(client))

    def range(self, key: str, end: str | None = None, *, limit: int = 0, revision: int = 0,
              descending: bool = False) -> RangeResult:
        """Keys in [key, end) (just `key` when end is None), sorted by key."""
        request = rpc.RangeRequest(
            key=key.encode(), limit=limit, revision=revision,
            sort_target=rpc.RangeRequest.KEY,
            sort_order=rpc.RangeRequest.DESCEND if descending else rpc.RangeRequest.ASCEND,
        )
        if end is not None:
            request.range_end = end.encode()
        response = self._call("read", lambda c: self._unary(c, c.kvstub.Range, request))
        return RangeResult([_kv(kv) for kv in response.kvs], response.more,
                           response.header.revision)

    def get(self, key: str) -> KeyValue | None:
        found = self.range(key).kvs
        return found[0] if found else None

    def txn(self, compare: Sequence[rpc.Compare], success: Sequence[rpc.RequestOp],
            failure: Sequence[rpc.RequestOp] = ()) -> TxnResult:
        request = rpc.TxnRequest(compare=list(compare), success=list(success),
                                 failure=list(failure))
        response = self._call("transaction", lambda c: self._unary(c, c.kvstub.Txn, request))
        ranges = [[_kv(kv) for kv in op.response_range.kvs] for op in response.responses
                  if op.WhichOneof("response") == "response_range"]
        return TxnResult(response.succeeded, response.header.revision, ranges)

    def grant_lease(self, ttl_s: int) -> tuple[int, int]:
        """A new lease: (id, granted TTL in seconds; etcd may raise a too-small TTL)."""
        request = rpc.LeaseGrantRequest(TTL=ttl_s, ID=0)
        response = self._call("lease grant",
                              lambda c: self._unary(c, c.leasestub.LeaseGrant, request))
        return response.ID, response.TTL

    def keep_alive(self, lease_id: int) -> int:
        """Refresh a lease once; returns its remaining TTL, 0 when it has expired."""
        request = rpc.LeaseKeepAliveRequest(ID=lease_id)

        def refresh(client: etcd3.Etcd3Client) -> int:
            responses = client.leasestub.LeaseKeepAlive(
                iter([request]), self.timeout_s, metadata=self._metadata(client))
            response = next(iter(responses), None)
            if response is None:
                raise StoreError("etcd closed the lease keepalive stream without an answer")
            return response.TTL

        return self._call("lease keepalive", refresh)

    def revoke_lease(self, lease_id: int) -> None:
        """End a lease now (its keys go with it); an already expired lease is fine."""
        request = rpc.LeaseRevokeRequest(ID=lease_id)

        def revoke(client: etcd3.Etcd3Client) -> None:
            try:
                self._unary(client, client.leasestub.LeaseRevoke, request)
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND:
                    raise

        self._call("lease revoke", revoke)

    def ping(self, key: str = "\0") -> None:
        """Raise StoreUnavailable unless some endpoint answers a linearizable read of `key`
        (a key the caller may read: etcd auth refuses keys outside the user's roles)."""
        self.range(key, limit=1)
