"""A simulated agent's own HTTP endpoints that frameworks read: `/flags` and `/files/read`,
and `/version`, which installer tasks read at `$MESOS_AGENT_ENDPOINT`.

A real agent serves them on its libprocess address, the one `/master/slaves` names in
`pid` (`slave(1)@<ip>:<port>`) and offers carry in `url`. Here each simulated agent gets a
server on its own loopback address and a free port, reported in both places.

`/files/read` follows apache/mesos 1.4.0 `src/files/files.cpp` (`FilesProcess::__read`,
`_read`, `resolve`): `path` is a virtual path, resolved by the longest attached prefix
(a directory plus a suffix; the real path must stay inside the attached directory);
`offset` and `length` are optional, negative values refused except -1 (the web UI's "how
long is it": `offset=-1` answers the file size with no data); a read is capped at 16
pages; the answer is `{"offset": N, "data": "..."}`; a missing path is 404, a directory
400. What is attached: every executor's sandbox, under its real directory and under the
"latest" run path `<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/
runs/latest` (`src/slave/slave.cpp` `Framework::addExecutor`, `src/slave/paths.cpp`
`getExecutorLatestRunPath`), kept after the task ends until garbage collection (which
the emulator never does). A command task's executor id is its task id
(`Slave::getExecutorInfo`).

`/flags` answers `{"flags": {...}}` with the flags that matter here (`work_dir`).

Both need a DC/OS token when the master takes tokens, as its read-only endpoints do
(DC/OS strict mode runs agents with `--authenticate_http_readonly`): 401 otherwise.
`/version` answers as the master's `/version` does, without authentication.
"""

from __future__ import annotations

import json
import logging
import mmap
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from devcluster.background import BackgroundServer
from devcluster.state_json import version_json

if TYPE_CHECKING:
    from devcluster.agent import SimulatedAgent
    from devcluster.master import Master
    from devcluster.master_records import AgentTask

log = logging.getLogger(__name__)

MAX_READ = mmap.PAGESIZE * 16
TOKEN_SCHEME = "token="
TOKEN_CHALLENGE = "acsjwt"


def latest_run_path(work_dir: Path, agent_id: str, framework_id: str, executor_id: str) -> str:
    """The virtual path of an executor's latest run directory."""
    return str(work_dir / "slaves" / agent_id / "frameworks" / framework_id / "executors"
               / executor_id / "runs" / "latest")


class AgentServer:
    """The HTTP endpoints of one simulated agent, on `ip` and a free port."""

    def __init__(self, master: Master, agent_id: str, ip: str) -> None:
        handler = type("Handler", (_Handler,), {"master": master, "agent_id": agent_id})
        self._server = BackgroundServer(handler, f"devcluster-agent-{agent_id}", host=ip)
        self.ip = ip

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> AgentServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def _tasks(master: Master, agent: SimulatedAgent) -> Iterator[AgentTask]:
    yield from agent.tasks.values()
    for framework in master.frameworks.values():
        for task in framework.completed_tasks:
            if task.agent_id == agent.id:
                yield task


def attached(master: Master, agent: SimulatedAgent) -> dict[str, Path]:
    """Virtual path -> sandbox directory, for every executor the agent has run."""
    paths: dict[str, Path] = {}
    for task in _tasks(master, agent):
        sandbox = task.sandbox
        paths[str(sandbox)] = sandbox
        paths[latest_run_path(agent.spec.work_dir, agent.id, task.framework_id,
                              task.task_id)] = sandbox
    return paths


def resolve(paths: dict[str, Path], virtual: str) -> Path | None:
    """The real file a virtual path names; None when not found. ValueError: inaccessible."""
    tokens = [t for t in virtual.rstrip("/").split("/")]
    suffix: list[str] = []
    while tokens:
        prefix = "/".join(tokens) or "/"
        root = paths.get(prefix)
        if root is None:
            suffix.insert(0, tokens.pop())
            continue
        if not root.is_dir():
            return root if not suffix else None
        candidate = root.joinpath(*suffix)
        if not candidate.exists():
            return None
        real = candidate.resolve()
        if not str(real).startswith(str(root.resolve())):
            raise ValueError(f"'{candidate}' is inaccessible")
        return real
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    master: Master
    agent_id: str

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", TOKEN_CHALLENGE)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, doc: object) -> None:
        self._reply(200, json.dumps(doc).encode(), "application/json")

    def _authenticated(self) -> bool:
        """As the master's read-only endpoints: a DC/OS token when the cluster takes tokens
        (strict mode, --authenticate_http_readonly); open otherwise."""
        check: Callable[[str], str | None] | None = self.master.options.authenticate_token
        if check is None:
            return True
        header = self.headers.get("Authorization") or ""
        return header.startswith(TOKEN_SCHEME) and check(header[len(TOKEN_SCHEME):]) is not None

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlparse(self.path)
        if url.path == "/version":
            # apache/mesos 1.4.3 `src/version/version.cpp` `VersionProcess::initialize`:
            # routed without an authentication realm, so open in strict mode too.
            self._json(version_json(self.master.mesos))
            return
        if not self._authenticated():
            self._reply(401, b"")
            return
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with self.master.lock:
            agent = self.master.agents.get(self.agent_id)
            paths = attached(self.master, agent) if agent is not None else {}
            work_dir = str(agent.spec.work_dir) if agent is not None else ""
        if agent is None or agent.state != "active":
            self._reply(503, b"Agent is not running\n")  # its process is down
        elif url.path == "/flags":
            self._json({"flags": {"work_dir": work_dir, "port": str(self.server.server_port)}})
        elif url.path in ("/files/read", "/files/read.json"):
            self._read(paths, query)
        else:
            self._reply(404, b"")

    def _read(self, paths: dict[str, Path], query: dict[str, str]) -> None:
        virtual = query.get("path", "")
        if not virtual:
            self._reply(400, b"Expecting 'path=value' in query.\n")
            return
        try:
            offset = _number(query.get("offset"), "offset")
            length = _number(query.get("length"), "length")
        except ValueError as err:
            self._reply(400, f"{err}\n".encode())
            return
        try:
            real = resolve(paths, virtual)
        except ValueError as err:
            self._reply(400, f"{err}.\n".encode())
            return
        if real is None:
            self._reply(404, b"")
            return
        if real.is_dir():
            self._reply(400, b"Cannot read a directory.\n")
            return
        size = real.stat().st_size
        start = 0 if offset is None or offset == -1 else offset
        count = 0 if offset == -1 else (size - start if length in (None, -1) else length)
        count = max(0, min(count, MAX_READ, size - start))
        with open(real, "rb") as handle:
            handle.seek(start)
            data = handle.read(count) if count else b""
        self._json({"offset": size if offset == -1 else start,
                    "data": data.decode("utf-8", "replace")})


def _number(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Failed to parse {name}: not a number") from None
    if value < -1:
        raise ValueError(f"Negative {name} provided: {value}.")
    return value

