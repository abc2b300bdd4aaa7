"""A reverse proxy that forwards what is under a path prefix to an upstream HTTP server
with the prefix removed, as DC/OS Admin Router does for `/service/<name>/`."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http import HTTPStatus

PROXY_TIMEOUT_S = 10.0
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer"}


class StrippingProxy:
    """A WSGI reverse proxy: requests under `prefix` go to `upstream` without the prefix,
    every other path is a 404 (what DC/OS Admin Router does for `/service/<name>/`)."""

    def __init__(self, upstream: str, prefix: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.prefix = prefix

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(self.prefix + "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not under the service prefix"]
        url = self.upstream + urllib.parse.quote(path[len(self.prefix) :])
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key not in ("HTTP_HOST", "HTTP_CONNECTION")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        request = urllib.request.Request(
            url, data=body, headers=headers, method=environ["REQUEST_METHOD"]
        )
        try:
            with urllib.request.urlopen(request, timeout=PROXY_TIMEOUT_S) as response:
                status, reply_headers, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as err:
            status, reply_headers, data = err.code, err.headers, err.read()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [(k, v) for k, v in reply_headers.items() if k.lower() not in HOP_BY_HOP],
        )
        return [data]
