"""HTTP front of the master emulator: the v1 scheduler API, state endpoints, fault control.

Status codes follow http.cpp `Master::Http::scheduler` (apache/mesos 1.4.3, 1.8.x): 202
with `Content-Length: 0` for accepted calls, 400 for malformed or invalid calls and for a
framework the master does not know ("Framework cannot be found"), 401 without valid
credentials when authentication is on (Basic, or a DC/OS `token=` header when
`MasterOptions.authenticate_token` is set), 403 for a known framework that is not
subscribed, 406 when the client does not accept JSON, 415 for a body that is not JSON,
501 for a call of type UNKNOWN, 503 until a new leader has recovered.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import queue
import select
import socket
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from devcluster.background import BackgroundServer
from devcluster.errors import CallError
from devcluster.master import Master
from devcluster.master_records import Subscription
from devcluster.state_json import slaves_json, state_json, version_json
from devcluster.validation import call_problem, validate_call

log = logging.getLogger(__name__)

STREAM_POLL_S = 0.5
MAX_BODY_BYTES = 16 * 1024 * 1024
TOKEN_SCHEME = "token="  # DC/OS IAM auth tokens
TOKEN_CHALLENGE = "acsjwt"  # what DC/OS answers a request without a valid token


class MasterServer:
    """The master's HTTP server on `host` (127.0.0.1 by default), in a background thread."""

    def __init__(self, master: Master, port: int = 0, control=None,
                 host: str = "127.0.0.1") -> None:
        self.master = master
        self.control = control
        handler = type("Handler", (_Handler,), {"master": master, "control": control})
        self._server = BackgroundServer(handler, "devcluster-master-http", port, host)
        master.address = (host, self._server.port)

    @property
    def url(self) -> str:
        host, port = self.master.address
        return f"http://{host}:{port}"

    def start(self) -> MasterServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    master: Master
    control = None

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ----------------------------------------------------------------------------

    def _reply(self, status: int, body: bytes = b"", content_type: str = "text/plain",
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _json(self, status: int, doc: object) -> None:
        self._reply(status, json.dumps(doc).encode(), "application/json")

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            raise CallError(400, "invalid Content-Length")
        return self.rfile.read(length) if length else b""

    def _principal(self) -> str | None:
        """The authenticated principal; CallError(401) when authentication fails."""
        options = self.master.options
        if options.principal is None and options.authenticate_token is None:
            return None
        header = self.headers.get("Authorization", "")
        if options.principal is not None and header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:  # bad base64, non-ASCII text or bytes that are not UTF-8
                user, password = "", ""
            if user == options.principal and password == options.secret:
                return user
        if options.authenticate_token is not None and header.startswith(TOKEN_SCHEME):
            principal = options.authenticate_token(header[len(TOKEN_SCHEME):])
            if principal is not None:
                return principal
        challenges = []
        if options.principal is not None:
            challenges.append('Basic realm="mesos"')
        if options.authenticate_token is not None:
            challenges.append(TOKEN_CHALLENGE)
        raise CallError(401, "Unauthorized", {"WWW-Authenticate": ", ".join(challenges)})

    def _read_only_principal(self) -> None:
        """DC/OS strict mode authenticates read-only endpoints too (its masters run with
        --authenticate_http_readonly); with Basic auth alone they stay open here."""
        if self.master.options.authenticate_token is not None:
            self._principal()

    # -- routes ------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._guarded(self._get)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._guarded(self._post)

    def _guarded(self, route) -> None:
        """Answer every request; an emulator bug becomes a logged 500, never a dropped socket."""
        try:
            route(urlparse(self.path).path)
        except CallError as err:
            self._reply(err.status, err.message.encode(), headers=err.headers)
        except Exception:
            log.exception("request %s %s failed", self.command, self.path)
            self.close_connection = True
            self._reply(500, b"Internal Server Error")

    def _get(self, path: str) -> None:
        if path == "/api/v1/scheduler":
            self._reply(405, b"Expecting one of { 'POST' }, but received 'GET'",
                        headers={"Allow": "POST"})
        elif path == "/version":
            self._json(200, version_json(self.master.mesos))
        elif path in ("/master/state", "/master/state.json", "/state", "/state.json"):
            self._read_only_principal()
            self._json(200, state_json(self.master))
        elif path in ("/master/slaves", "/slaves"):
            self._read_only_principal()
            self._json(200, slaves_json(self.master))
        elif path in ("/master/redirect", "/redirect"):
            host, port = self.master.address
            self._reply(307, headers={"Location": f"//{host}:{port}"})
        elif path == "/health":
            self._reply(200)
        elif path.startswith("/devcluster/") and self.control is not None:
            self._json(*self.control.handle("GET", path, None))
        else:
            self._reply(404, b"Not Found")

    def _post(self, path: str) -> None:
        body = self._read_body()
        if path == "/api/v1/scheduler":
            self._scheduler_call(body)
        elif path in ("/master/teardown", "/teardown"):
            self._principal()
            form = parse_qs(body.decode("utf-8", errors="replace"))
            framework_id = (form.get("frameworkId") or [""])[0]
            if not framework_id:
                raise CallError(400, "Missing 'frameworkId' query parameter")
            self.master.teardown_framework(framework_id)
            self._reply(200)
        elif path.startswith("/devcluster/") and self.control is not None:
            self._json(*self.control.handle("POST", path, _parse_json(body or b"{}")))
        else:
            self._reply(404, b"Not Found")

    def _scheduler_call(self, body: bytes) -> None:
        """In the order of http.cpp `Master::Http::scheduler`."""
        principal = self._principal()
        self.master.check_leading()
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if not content_type:
            raise CallError(400, "Expecting 'Content-Type' to be present")
        if content_type != "application/json":
            raise CallError(415, f"Expecting 'Content-Type' of application/json; "
                                 f"this master does not speak {content_type}")
        call = _parse_json(body)
        problem = call_problem(call, self.master.mesos)
        if problem is not None:
            raise CallError(400, f"Failed to convert JSON into Call protobuf: {problem}")
        problem = validate_call(call)
        if problem is not None:
            raise CallError(400, f"Failed to validate scheduler::Call: {problem}")
        if call["type"] == "SUBSCRIBE":
            accept = self.headers.get("Accept", "application/json")
            if not any(a in accept for a in ("application/json", "*/*")):
                raise CallError(406, "Expecting 'Accept' to allow application/json")
            if self.headers.get("Mesos-Stream-Id"):
                raise CallError(400, "Subscribe calls should not include the "
                                     "'Mesos-Stream-Id' header")
            self._stream(self.master.subscribe(call, principal))
            return
        self.master.handle_call(call, self.headers.get("Mesos-Stream-Id"), principal)
        self._reply(202)

    def _stream(self, subscription: Subscription) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Mesos-Stream-Id", subscription.stream_id)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True
        sock = self.connection
        try:
            while True:
                try:
                    record = subscription.events.get(timeout=STREAM_POLL_S)
                except queue.Empty:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable and not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                        break  # readable with nothing to read: the scheduler hung up
                    continue
                if record is None:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                self.wfile.write(f"{len(record):x}\r\n".encode() + record + b"\r\n")
                self.wfile.flush()
        except OSError:
            pass
        finally:
            self.master.stream_closed(subscription.framework_id, subscription)


def _parse_json(body: bytes) -> object:
    """Strict JSON as the master's parser takes it: no NaN or Infinity, finite numbers."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as err:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        raise CallError(400, f"Failed to parse body into JSON: {err}") from err


def _reject_constant(name: str) -> float:
    raise ValueError(f"'{name}' is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value
