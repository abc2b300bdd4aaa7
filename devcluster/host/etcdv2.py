"""The etcd v2 keys and members API as Calico v2.6 and Docker's libkv call it, for the
stand-ins that model them (calico/node, the CNI plugin, dockerd's cluster store).

Requests go to each endpoint in turn until one answers, as the Go v2 client does
(etcd-io/etcd v3.3 `client/client.go`). An etcd without the v2 API answers 404
"404 page not found" (plain text); a v2 error is JSON with an `errorCode` (100: key not
found, 105: node exists).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

TIMEOUT_S = 3.0
KEY_NOT_FOUND = 100
NODE_EXISTS = 105
NOT_A_FILE = 102


class V2Error(Exception):
    """A failed v2 request; str() is one line naming the endpoint and what it answered."""

    def __init__(self, message: str, status: int | None = None,
                 error_code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


@dataclass(frozen=True)
class Tls:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


class Client:
    def __init__(self, endpoints: list[str], tls: Tls | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.endpoints = [e.strip().rstrip("/") for e in endpoints if e.strip()]
        if not self.endpoints:
            raise V2Error("no etcd endpoints given")
        self.timeout_s = timeout_s
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if tls is not None and (tls.ca_file or tls.cert_file):
            context = ssl.create_default_context(cafile=tls.ca_file)
            if tls.cert_file:
                context.load_cert_chain(tls.cert_file, tls.key_file)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, path: str, params: dict | None = None,
                form: dict | None = None) -> dict:
        path = urllib.parse.quote(path)  # keys are escaped as the Go client's URL does
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        failures = []
        for endpoint in self.endpoints:
            url = f"{endpoint}{path}{query}"
            req = urllib.request.Request(url, data=body, method=method)
            if body is not None:
                req.add_header("Content-Type", "application/x-www-form-urlencoded")
            try:
                with self._opener.open(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as err:
                error = _v2_error(method, url, err)
                if err.code < 500:
                    raise error from None
                failures.append(str(error))  # a 5xx sends the client to the next endpoint
            except (OSError, ValueError) as err:
                failures.append(f"{endpoint}: {getattr(err, 'reason', err)}")
        raise V2Error(f"{method} {path}: no etcd endpoint answered ({'; '.join(failures)})")

    def get(self, key: str, **params: str) -> dict:
        return self.request("GET", "/v2/keys" + key, params or None)

    def set(self, key: str, value: str, prev_exist: bool | None = None) -> dict:
        params = None if prev_exist is None else {"prevExist": str(prev_exist).lower()}
        return self.request("PUT", "/v2/keys" + key, params, {"value": value})

    def create(self, key: str, value: str) -> bool:
        """Set unless it exists; True when this call created it."""
        try:
            self.set(key, value, prev_exist=False)
            return True
        except V2Error as err:
            if err.error_code == NODE_EXISTS:
                return False
            raise

    def mkdir(self, key: str) -> None:
        try:
            self.request("PUT", "/v2/keys" + key, {"dir": "true", "prevExist": "false"})
        except V2Error as err:
            if err.error_code not in (NODE_EXISTS, NOT_A_FILE):
                raise

    def members(self) -> list[dict]:
        return list(self.request("GET", "/v2/members").get("members") or [])


def _v2_error(method: str, url: str, err: urllib.error.HTTPError) -> V2Error:
    text = err.read().decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "errorCode" in data:
        return V2Error(f"{method} {url}: {data.get('message')} ({data.get('cause', '')})",
                       err.code, data.get("errorCode"))
    line = " ".join(text.split())[:120]
    return V2Error(f"{method} {url}: {err.code} {line}", err.code)
