"""DC/OS service-account authentication for everything the scheduler sends to the master.

On a DC/OS cluster in strict security mode the master accepts only requests that carry an
IAM auth token. A service account gets one by logging in: it signs a short-lived login JWT
(RS256, claims `uid` and `exp`) with its private key and POSTs `{"uid", "token"}` to the
IAM's login URL, which answers `{"token": <auth token>}`. Every request then sends
`Authorization: token=<auth token>`.

Auth tokens expire (five days by default, stated in the token's own `exp` claim), so
`ServiceAccountCredentials` logs in again once most of a token's lifetime has passed and
whenever the master answers 401. One instance serves the pymesos driver (subscribe and
calls, `ServiceAccountSchedulerDriver`) and the agent listing (`TokenAuth` for requests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pymesos import MesosSchedulerDriver

from framework.config.model import MesosSettings, ServiceAccount
from framework.mesos_tls import client_context, with_tls

log = logging.getLogger(__name__)

LOGIN_TOKEN_LIFETIME_S = 120.0  # the login JWT is a one-time password
DEFAULT_TOKEN_LIFETIME_S = 5 * 24 * 3600.0  # DC/OS's default, for a token without `exp`
REFRESH_AT_FRACTION = 0.8  # log in again once this share of a token's lifetime has passed
RENEW_RETRY_S = 30.0  # after a failed early renewal, keep the valid token this long
LOGIN_TIMEOUT_S = 10.0
LOGIN_ATTEMPTS = 3  # for unreachable IAMs and 5xx answers; a refusal is final
LOGIN_BACKOFF_S = 1.0  # doubled after each failed attempt
TOKEN_SCHEME = "token="
SCHEDULER_API_PATH = "/api/v1/scheduler"
# pymesos 0.3.15 reports a refused call as RuntimeError("Failed to send request <status>: ...").
PYMESOS_UNAUTHORIZED = "Failed to send request 401:"


class DcosAuthError(Exception):
    """Root of the errors of DC/OS service-account authentication."""


class ServiceAccountKeyError(DcosAuthError):
    """The configured private key cannot sign a login token."""


class LoginError(DcosAuthError):
    """The IAM refused the login or could not be reached."""


def load_private_key(pem: str) -> RSAPrivateKey:
    """The RSA key of a PEM text; ServiceAccountKeyError with the reason otherwise."""
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise ServiceAccountKeyError(
            f"CALICO_SERVICE_ACCOUNT_PRIVATE_KEY: not a usable unencrypted PEM private key "
            f"({err})") from None
    if not isinstance(key, RSAPrivateKey):
        raise ServiceAccountKeyError(
            "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY: DC/OS service accounts sign with RS256, "
            "which needs an RSA key")
    return key


def login_token(uid: str, key: RSAPrivateKey, now: float,
                lifetime_s: float = LOGIN_TOKEN_LIFETIME_S) -> str:
    """The service login JWT: `{"uid": uid, "exp": now + lifetime}` signed RS256."""
    return jwt.encode({"uid": uid, "exp": int(now + lifetime_s)}, key, algorithm="RS256")


@dataclass(frozen=True)
class AuthToken:
    """An IAM auth token and the span it is good for (by this process's clock)."""

    value: str
    issued_at: float
    expires_at: float

    @property
    def header(self) -> str:
        return f"{TOKEN_SCHEME}{self.value}"

    def refresh_due(self, now: float) -> bool:
        lifetime = self.expires_at - self.issued_at
        return now >= self.issued_at + REFRESH_AT_FRACTION * lifetime

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def auth_token(value: str, issued_at: float) -> AuthToken:
    """An AuthToken expiring at the token's `exp` claim (read, not verified: the master
    verifies), or after DC/OS's default lifetime when it has none."""
    try:
        claims = jwt.decode(value, options={"verify_signature": False})
        expires_at = float(claims["exp"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        expires_at = issued_at + DEFAULT_TOKEN_LIFETIME_S
    return AuthToken(value, issued_at, expires_at)


class ServiceAccountCredentials:
    """Thread-safe holder of the account's current auth token; logs in when needed."""

    def __init__(self, account: ServiceAccount, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 timeout_s: float = LOGIN_TIMEOUT_S, ca_file: str | None = None) -> None:
        self.uid = account.uid
        self.login_url = account.login_url
        self._verify_tls: str | bool = ca_file or True
        self._key = load_private_key(account.private_key)
        self._clock = clock
        self._sleep = sleep
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._token: AuthToken | None = None
        self._renew_after = 0.0

    def authorization(self) -> str:
        """The `Authorization` header value; logs in first when no token is good enough.

        A failed early renewal keeps the current token while it is valid (the IAM may be
        briefly away); LoginError only when no valid token is left."""
        with self._lock:
            now = self._clock()
            token = self._token
            if self._usable(token, now):
                return token.header
            try:
                self._token = self._login()
            except LoginError as err:
                if token is None or token.expired(now):
                    raise
                self._renew_after = now + RENEW_RETRY_S
                log.warning("could not renew the DC/OS auth token (%s); the current one "
                            "stays valid for %.0f s", err, token.expires_at - now)
                return token.header
            return self._token.header

    def _usable(self, token: AuthToken | None, now: float) -> bool:
        if token is None or token.expired(now):
            return False
        return not token.refresh_due(now) or now < self._renew_after

    def rejected(self, header: str) -> None:
        """The master answered 401 to `header`: the next `authorization()` logs in again."""
        with self._lock:
            if self._token is not None and self._token.header == header:
                log.info("the master refused the DC/OS auth token of %s; logging in again",
                         self.uid)
                self._token = None

    def _login(self) -> AuthToken:
        attempt, delay = 1, LOGIN_BACKOFF_S
        while True:
            now = self._clock()
            try:
                token = self._post_login(now)
            except _Retryable as err:
                if attempt >= LOGIN_ATTEMPTS:
                    raise LoginError(f"DC/OS login of {self.uid!r} at {self.login_url} failed "
                                     f"{attempt} times; last: {err}") from None
                log.warning("DC/OS login of %r failed (%s); retrying in %.0f s",
                            self.uid, err, delay)
                self._sleep(delay)
                attempt, delay = attempt + 1, delay * 2
                continue
            log.info("logged in to DC/OS as %s; auth token valid for %.0f s",
                     self.uid, token.expires_at - now)
            return token

    def _post_login(self, now: float) -> AuthToken:
        body = {"uid": self.uid, "token": login_token(self.uid, self._key, now)}
        try:
            resp = requests.post(self.login_url, json=body, timeout=self._timeout_s,
                                 verify=self._verify_tls)
        except requests.RequestException as err:
            raise _Retryable(str(err)) from None
        if resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise LoginError(f"the DC/OS IAM at {self.login_url} refused the login of service "
                             f"account {self.uid!r}: HTTP {resp.status_code} {_reason(resp)}")
        try:
            value = resp.json()["token"]
        except (ValueError, KeyError, TypeError):
            value = None
        if not isinstance(value, str) or not value:
            raise LoginError(f"the DC/OS IAM at {self.login_url} answered without a token")
        return auth_token(value, now)


class _Retryable(Exception):
    """A login attempt that may succeed when tried again (network error, 5xx)."""


def _reason(resp: requests.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(doc, dict):
        return " ".join(str(doc[k]) for k in ("code", "description") if k in doc)
    return str(doc)[:200]


class TokenAuth(requests.auth.AuthBase):
    """`requests` authentication with the account's token; a 401 is retried once after a
    fresh login."""

    def __init__(self, credentials: ServiceAccountCredentials) -> None:
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.credentials.authorization()
        request.register_hook("response", self._retry_unauthorized)
        return request

    def _retry_unauthorized(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        sent = response.request.headers.get("Authorization")
        if response.status_code != 401 or sent is None:
            return response
        self.credentials.rejected(sent)
        header = self.credentials.authorization()
        if header == sent:
            return response
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = header
        retry.deregister_hook("response", self._retry_unauthorized)
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer


class ServiceAccountSchedulerDriver(MesosSchedulerDriver):
    """The pymesos driver, authenticated with the account's token instead of Basic.

    pymesos sends `_basic_credential` verbatim as the Authorization header of the subscribe
    request and of every call, so it is set to the current `token=...` right before each
    use; a call answered 401 is sent once more after a fresh login, without reconnecting.
    A refused subscribe ends pymesos' I/O thread (its behaviour for any refused subscribe),
    and the restarted scheduler logs in afresh.
    """

    def __init__(self, sched: Any, framework: dict, master_uri: str,
                 credentials: ServiceAccountCredentials, **options: Any) -> None:
        super().__init__(sched, framework, master_uri, **options)
        self._credentials = credentials

    def start(self) -> None:
        """Log in before connecting, so a refused login is raised to the caller."""
        self._basic_credential = self._credentials.authorization()
        super().start()

    def gen_request(self) -> bytes:
        header = self._credentials.authorization()
        with self._lock:
            self._basic_credential = header
            return super().gen_request()

    def _send(self, body: Any, path: str = SCHEDULER_API_PATH, method: str = "POST",
              headers: dict | None = None) -> Any:
        header = self._credentials.authorization()
        try:
            return self._send_as(header, body, path, method, headers)
        except RuntimeError as err:
            if not str(err).startswith(PYMESOS_UNAUTHORIZED):
                raise
        self._credentials.rejected(header)
        return self._send_as(self._credentials.authorization(), body, path, method, headers)

    def _send_as(self, header: str, body: Any, path: str, method: str,
                 headers: dict | None) -> Any:
        with self._lock:
            self._basic_credential = header
            return super()._send(body, path, method, dict(headers or {}))


def service_account_credentials(account: ServiceAccount | None, ca_file: str | None = None,
                                ) -> ServiceAccountCredentials | None:
    """Credentials for the configured account (None without one); the key is checked now.
    `ca_file` verifies an https login URL (None: the system's trust store)."""
    return None if account is None else ServiceAccountCredentials(account, ca_file=ca_file)


def scheduler_driver(scheduler: Any, framework_info: dict, settings: MesosSettings,
                     credentials: ServiceAccountCredentials | None, *,
                     ca_file: str | None = None, **options: Any) -> MesosSchedulerDriver:
    """The driver for these settings: token auth with a service account (whose uid is the
    framework's principal unless MESOS_PRINCIPAL names one), else Basic auth when a
    principal and secret are set, else none; over https verified with `ca_file` when
    `settings.tls`."""
    if credentials is None:
        base: type[MesosSchedulerDriver] = MesosSchedulerDriver
        args: tuple = (scheduler, framework_info, settings.master)
        options = {"principal": settings.principal, "secret": settings.secret, **options}
    else:
        base = ServiceAccountSchedulerDriver
        info = {"principal": credentials.uid, **framework_info}
        args = (scheduler, info, settings.master, credentials)
    if not settings.tls:
        return base(*args, **options)
    driver = with_tls(base)(*args, **options)
    driver.tls_context = client_context(ca_file)
    return driver
