"""A tiny DC/OS IAM on 127.0.0.1: service-account login with RS256 login tokens, user
tokens, and the public keys that verify them.

It verifies each login token with the account's public key, issues RS256 auth tokens with
`uid` and `exp` claims, and answers as the real IAM does (401 ERR_INVALID_CREDENTIALS with
`WWW-Authenticate: acsjwt`). `principal_of` is what the master emulator asks, so tests can
expire and revoke tokens. `user_token(uid)` is what a DC/OS user gets from logging in (the
token the DC/OS UI keeps in its cookie and the DC/OS CLI in dcos.toml). `GET
/acs/api/v1/auth/jwks` lists the signing key as a JSON Web Key Set, the key first (what
Admin Router's bootstrap reads: dcos/dcos 1.13.9, packages/bootstrap/extra/
dcos_internal_utils/cli.py). Time comes from an injected clock.
"""

from __future__ import annotations

import collections
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

LOGIN_PATH = "/acs/api/v1/auth/login"
JWKS_PATH = "/acs/api/v1/auth/jwks"
TOKEN_LIFETIME_S = 5 * 24 * 3600.0  # the IAM's default


class Clock:
    """Settable time for the credentials and the IAM alike."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Issued:
    uid: str
    expires_at: float
    revoked: bool = False


class IamServer:
    def __init__(self, signing_key: RSAPrivateKey, clock: Callable[[], float],
                 token_lifetime_s: float = TOKEN_LIFETIME_S) -> None:
        self.signing_key = signing_key
        self.clock = clock
        self.token_lifetime_s = token_lifetime_s
        self.lock = threading.Lock()
        self.accounts: dict[str, RSAPublicKey] = {}
        self.issued: dict[str, Issued] = {}
        self.logins: list[dict] = []  # verified login-token claims, in order
        self.presented: list[str] = []  # tokens the master was shown
        self.failures: collections.deque[int] = collections.deque()
        self.key_id = "iam-key-1"
        self.jwks_reads = 0
        self.jwks_authorizations: list[str | None] = []  # the Authorization of each read
        handler = type("Handler", (_Handler,), {"iam": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def login_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{LOGIN_PATH}"

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{JWKS_PATH}"

    def jwks(self) -> dict:
        with self.lock:
            self.jwks_reads += 1
            key, key_id = self.signing_key, self.key_id
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        return {"keys": [{**jwk, "kid": key_id, "alg": "RS256", "use": "sig"}]}

    def rotate(self, signing_key: RSAPrivateKey, key_id: str) -> None:
        with self.lock:
            self.signing_key, self.key_id = signing_key, key_id

    def user_token(self, uid: str, lifetime_s: float | None = None) -> str:
        """The auth token a DC/OS user gets by logging in."""
        expires_at = self.clock() + (self.token_lifetime_s if lifetime_s is None
                                     else lifetime_s)
        token = jwt.encode({"uid": uid, "exp": int(expires_at)}, self.signing_key,
                           algorithm="RS256", headers={"kid": self.key_id})
        with self.lock:
            self.issued[token] = Issued(uid, expires_at)
        return token

    def start(self) -> IamServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_account(self, uid: str, public_key: RSAPublicKey) -> None:
        with self.lock:
            self.accounts[uid] = public_key

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.failures.extend(statuses)

    def revoke(self, token: str) -> None:
        with self.lock:
            self.issued[token].revoked = True

    def latest_token(self) -> str:
        with self.lock:
            return list(self.issued)[-1]

    def principal_of(self, token: str) -> str | None:
        """The uid a valid token stands for; None for unknown, expired or revoked tokens."""
        with self.lock:
            self.presented.append(token)
            issued = self.issued.get(token)
            if issued is None or issued.revoked or self.clock() >= issued.expires_at:
                return None
            return issued.uid

    def login(self, body: object) -> tuple[int, dict]:
        with self.lock:
            if self.failures:
                return self.failures.popleft(), {"code": "ERR_INJECTED"}
        if not isinstance(body, dict) or not isinstance(body.get("uid"), str) or \
                not isinstance(body.get("token"), str):
            return 400, {"code": "ERR_INVALID_DATA", "description": "uid and token required"}
        uid = body["uid"]
        with self.lock:
            public_key = self.accounts.get(uid)
        if public_key is None:
            return 401, _invalid("no such service account")
        try:
            claims = jwt.decode(body["token"], public_key, algorithms=["RS256"],
                                options={"require": ["exp", "uid"], "verify_exp": False})
        except jwt.InvalidTokenError as err:
            return 401, _invalid(f"login token: {err}")
        if claims["uid"] != uid or claims["exp"] <= self.clock():
            return 401, _invalid("login token for another account or expired")
        expires_at = self.clock() + self.token_lifetime_s
        token = jwt.encode({"uid": uid, "exp": int(expires_at), "jti": uuid.uuid4().hex},
                           self.signing_key, algorithm="RS256")
        with self.lock:
            self.logins.append(claims)
            self.issued[token] = Issued(uid, expires_at)
        return 200, {"token": token}


def _invalid(description: str) -> dict:
    return {"code": "ERR_INVALID_CREDENTIALS", "title": "Bad credentials",
            "description": description}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    iam: IamServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path == JWKS_PATH:
            self.iam.jwks_authorizations.append(self.headers.get("Authorization"))
            self._answer(200, self.iam.jwks())
        else:
            self._answer(404, {"code": "ERR_NOT_FOUND"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != LOGIN_PATH:
            status, doc = 404, {"code": "ERR_NOT_FOUND"}
        elif (self.headers.get("Content-Type") or "").split(";")[0] != "application/json":
            status, doc = 400, {"code": "ERR_INVALID_DATA",
                                "description": "Missing Content-Type header"}
        else:
            try:
                status, doc = self.iam.login(json.loads(body))
            except ValueError:
                status, doc = 400, {"code": "ERR_INVALID_DATA", "description": "not JSON"}
        self._answer(status, doc)

    def _answer(self, status: int, doc: dict) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "acsjwt")
        self.end_headers()
        self.wfile.write(data)
