"""A stand-in for DC/OS Admin Router in front of `/service/<name>/`: it lets only requests with
a valid DC/OS authentication token through and hands the token on to the service.

As the real one (dcos/dcos 1.13.9, packages/adminrouter/extra/src/lib/auth/common.lua,
`validate_jwt`; includes/server/master.conf, `location ~ ^/service/(?<service_path>.+)`):
the token comes from `Authorization: token=<jwt>` or `Bearer <jwt>`; without that header,
from the DC/OS UI's `dcos-acs-auth-cookie`, in which case `Authorization: token=<cookie>` is
set for the upstream. The token must verify (RS256 with the IAM's key), carry `uid`, and be
unexpired when it has `exp`; otherwise 401 with `WWW-Authenticate: oauthjwt` (lib/auth/
open.lua). Services are reached with the `/service/<name>` prefix removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

import jwt

from tests.web.proxy import StrippingProxy

COOKIE = "dcos-acs-auth-cookie"
SERVICE_PATH = re.compile(r"^/service/(?P<name>[0-9a-zA-Z-.]+)/")


class AdminRouter:
    def __init__(self, public_key: Callable[[], object], services: dict[str, str]) -> None:
        self.public_key = public_key
        self.proxies = {name: StrippingProxy(url, f"/service/{name}")
                        for name, url in services.items()}
        self.refused = 0

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        match = SERVICE_PATH.match(environ.get("PATH_INFO", ""))
        if match is None or match["name"] not in self.proxies:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such service"]
        if not self._authenticated(environ):
            self.refused += 1
            start_response("401 Unauthorized", [("Content-Type", "text/html"),
                                                ("WWW-Authenticate", "oauthjwt")])
            return [b"<html><body>401 Unauthorized</body></html>"]
        return self.proxies[match["name"]](environ, start_response)

    def _authenticated(self, environ: dict) -> bool:
        header = environ.get("HTTP_AUTHORIZATION")
        token = None
        if header is not None:
            found = re.search(r"token=(.+)", header) or re.search(r"Bearer (.+)", header)
            token = found.group(1) if found else None
        else:
            token = _cookie(environ.get("HTTP_COOKIE", ""))
            if token is not None:
                environ["HTTP_AUTHORIZATION"] = f"token={token}"
        if token is None:
            return False
        try:
            jwt.decode(token, self.public_key(), algorithms=["RS256"],
                       options={"require": ["uid"]})
        except jwt.InvalidTokenError:
            return False
        return True


def _cookie(header: str) -> str | None:
    try:
        jar = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value
