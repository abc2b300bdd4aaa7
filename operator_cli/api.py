"""The scheduler's JSON API as the command line calls it, with nothing but urllib."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 15.0
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
OPERATOR_HEADER = "X-Operator-Token"


class CliError(Exception):
    """A failure to report on stderr with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Api:
    """The scheduler's JSON API at `base` (which may include an Admin Router prefix).

    `token` is the operator token (sent as X-Operator-Token); `dcos_token` a DC/OS
    authentication token (sent as `Authorization: token=...`, which Admin Router checks and
    the scheduler verifies); `tls` how to check an https `base` (None: the system's CAs).
    """

    base: str
    token: str | None = None
    dcos_token: str | None = None
    tls: ssl.SSLContext | None = None
    timeout: float = TIMEOUT_S

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        base = self.base if self.base.endswith("/") else self.base + "/"
        encoded = urllib.parse.urlencode({k: v for k, v in (query or {}).items() if v})
        return urllib.parse.urljoin(base, path) + (f"?{encoded}" if encoded else "")

    def call(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers[OPERATOR_HEADER] = self.token
        if self.dcos_token:
            headers["Authorization"] = f"token={self.dcos_token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,
                                        context=self.tls) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            raise CliError(f"{err.code}: {_error_text(err)}", EXIT_REFUSED) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise CliError(f"cannot reach {url}: {reason}", EXIT_UNREACHABLE) from None
        except json.JSONDecodeError:
            raise CliError(f"{url} did not answer with JSON", EXIT_UNREACHABLE) from None


def _error_text(err: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(err)["error"])
    except (ValueError, KeyError, TypeError):
        if err.code == 401 and err.headers.get("WWW-Authenticate", "").startswith(
                ("oauthjwt", "acsjwt")):
            return "DC/OS refused the login: log in again with 'dcos auth login'"
        return err.reason or "request failed"
