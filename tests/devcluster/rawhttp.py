"""A scheduler speaking raw HTTP (http.client) to the emulator, for malformed-input tests."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from dataclasses import dataclass, field

TIMEOUT_S = 10.0

FRAMEWORK_INFO = {"user": "root", "name": "raw", "failover_timeout": 3600.0,
                  "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}],
                  "roles": ["*"]}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def post(address: tuple[str, int], body: bytes, headers: dict[str, str],
         path: str = "/api/v1/scheduler", method: str = "POST") -> Answer:
    conn = http.client.HTTPConnection(*address, timeout=TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Answer(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


def call(address: tuple[str, int], doc: object, stream_id: str | None = None,
         **headers: str) -> Answer:
    sent = {"Content-Type": "application/json", **headers}
    if stream_id:
        sent["Mesos-Stream-Id"] = stream_id
    return post(address, json.dumps(doc).encode(), sent)


@dataclass
class RawSubscription:
    """An open SUBSCRIBE stream whose records are collected by a reader thread."""

    address: tuple[str, int]
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    stream_id: str = ""
    framework_id: str = ""
    status: int = 0

    def open(self, info: dict | None = None, **subscribe_fields: object) -> RawSubscription:
        """SUBSCRIBE with `info` (and extra `subscribe` fields such as suppressed_roles)."""
        self._conn = http.client.HTTPConnection(*self.address, timeout=TIMEOUT_S)
        doc = {"type": "SUBSCRIBE", "subscribe": {"framework_info": info or FRAMEWORK_INFO,
                                                  **subscribe_fields}}
        self._conn.request("POST", "/api/v1/scheduler", body=json.dumps(doc).encode(),
                           headers={"Content-Type": "application/json",
                                    "Accept": "application/json", **self.headers})
        self._resp = self._conn.getresponse()
        self.status = self._resp.status
        if self.status != 200:
            self._resp.read()
            return self
        self.stream_id = self._resp.getheader("Mesos-Stream-Id", "")
        first = self._record()
        self.events.append(first)
        if first["type"] != "SUBSCRIBED":
            return self
        self.framework_id = first["subscribed"]["framework_id"]["value"]
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _record(self) -> dict:
        length = int(self._resp.readline())
        return json.loads(self._resp.read(length))

    def _drain(self) -> None:
        try:
            while True:
                self.events.append(self._record())
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return  # the stream ended or this side closed it

    def close(self) -> None:
        if self._conn.sock is not None:
            # Unblock the reader first: closing its buffered file would wait for its read.
            with contextlib.suppress(OSError):
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._conn.close()
