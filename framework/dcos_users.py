"""Who a DC/OS authentication token stands for: `web.DcosUsers` for the scheduler's web app.

A DC/OS authentication token is a JWT the IAM signs with RS256; its `uid` claim names the
user and `exp` ends it. Any component may verify one with the IAM's public keys, served as
a JSON Web Key Set at `/acs/api/v1/auth/jwks` (dcos/dcos 1.13.9 CHANGES.md, "1.13.0:
Introduction of service accounts, alignment of authentication architectures"; the key
format as Admin Router's bootstrap reads it, `packages/bootstrap/extra/dcos_internal_utils/
cli.py` `dcos_adminrouter`). Admin Router itself requires `uid` and checks `exp` when
present (`packages/adminrouter/extra/src/lib/auth/common.lua` `validate_jwt`); here `exp`
is required too, and only RS256 is taken: open DC/OS 1.10-1.12 signed HS256 tokens with a
shared secret (`lib/auth/open.lua` at 1.10.11), which no one outside the masters can verify,
so on those clusters only the operator token works.

The scheduler checks tokens itself rather than trusting Admin Router, because its port is
reachable from the cluster network without going through Admin Router. Keys are fetched on
first use, again when a token names a key id not seen yet (at most every
REFETCH_MIN_S seconds) and once they are older than KEYS_MAX_AGE_S, so a key rotation is
picked up without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import requests

from web import TokenRejectedError, UserCheckUnavailableError

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
KEYS_MAX_AGE_S = 3600.0
REFETCH_MIN_S = 30.0
FETCH_TIMEOUT_S = 10.0
LEEWAY_S = 30.0  # clock skew between the IAM and this host
MAX_UID_LENGTH = 100


@dataclass(frozen=True)
class _KeySet:
    keys: dict[str | None, object]  # key id (None: no kid) -> public key
    fetched_at: float


class DcosUserTokens:
    """Verifies DC/OS users' tokens against the IAM's JWKS; thread-safe.

    `users`: the uids allowed to act, or None for every user the IAM vouches for.
    `ca_file`: trust anchors for an https JWKS URL (None: the system's). `auth`: the
    scheduler's own credentials, sent along where it has some (Admin Router serves
    /acs/api/v1/auth/ without authentication in open DC/OS, dcos/dcos 1.13.9 includes/
    server/open/master.conf; a service account's token does no harm elsewhere).
    """

    def __init__(self, jwks_url: str, users: tuple[str, ...] | None = None, *,
                 ca_file: str | None = None, auth: requests.auth.AuthBase | None = None,
                 clock: Callable[[], float] = time.time,
                 timeout_s: float = FETCH_TIMEOUT_S) -> None:
        self.jwks_url = jwks_url
        self._auth = auth
        self.users = None if users is None else frozenset(users)
        self._verify_tls: str | bool = ca_file or True
        self._clock = clock
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._keys: _KeySet | None = None
        self._last_refetch = float("-inf")  # the last fetch for a key id not known yet

    def verify(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as err:
            raise TokenRejectedError(f"not a JWT ({err})") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejectedError(
                f"signed with {header.get('alg')!r}, not {ALGORITHM}: this cluster's tokens "
                "cannot be verified outside its masters (open DC/OS before 1.13); use the "
                "operator token")
        claims = self._decode(token, self._candidates(header.get("kid")))
        uid = claims["uid"]
        if not isinstance(uid, str) or not uid.isprintable() or not 0 < len(uid) <= \
                MAX_UID_LENGTH:
            raise TokenRejectedError("the token's uid is not a user name")
        if self.users is not None and uid not in self.users:
            raise TokenRejectedError(f"DC/OS user {uid!r} is not one of this service's "
                                     "operators (CALICO_DCOS_USERS)")
        return uid

    @staticmethod
    def _decode(token: str, keys: list[object]) -> dict:
        error: jwt.InvalidTokenError | None = None
        for key in keys:
            try:
                return jwt.decode(token, key, algorithms=[ALGORITHM], leeway=LEEWAY_S,
                                  options={"require": ["exp", "uid"], "verify_aud": False})
            except jwt.InvalidSignatureError as err:
                error = err  # another of the IAM's keys may have signed it
            except jwt.InvalidTokenError as err:
                raise TokenRejectedError(str(err)) from None
        raise TokenRejectedError(str(error) if error else "no key of the IAM signed it")

    def _candidates(self, kid: str | None) -> list[object]:
        """The keys that may have signed a token naming `kid` (all of them for no kid)."""
        with self._lock:
            now = self._clock()
            keys = self._keys
            stale = keys is None or now - keys.fetched_at >= KEYS_MAX_AGE_S
            unknown = keys is not None and not _matching(keys, kid)
            refetch = unknown and now - self._last_refetch >= REFETCH_MIN_S
            if stale or refetch:
                if refetch:
                    self._last_refetch = now
                try:
                    keys = self._keys = self._fetch(now)
                except UserCheckUnavailableError:
                    if keys is None or now - keys.fetched_at >= 2 * KEYS_MAX_AGE_S:
                        raise
                    log.warning("keeping the IAM's public keys fetched %.0f s ago",
                                now - keys.fetched_at)
        found = _matching(keys, kid) if keys is not None else []
        if not found:
            raise TokenRejectedError(f"signed by a key the IAM does not list (kid {kid!r})")
        return found

    def _fetch(self, now: float) -> _KeySet:
        try:
            response = requests.get(self.jwks_url, timeout=self._timeout_s,
                                    verify=self._verify_tls, auth=self._auth)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as err:
            raise UserCheckUnavailableError(
                f"cannot read the IAM's public keys from {self.jwks_url}: {err}") from None
        keys: dict[str | None, object] = {}
        for item in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(item, dict) or item.get("kty") != "RSA":
                continue
            try:
                keys[item.get("kid")] = jwt.PyJWK.from_dict(item, ALGORITHM).key
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as err:
                log.warning("ignoring an unusable key from %s: %s", self.jwks_url, err)
        if not keys:
            raise UserCheckUnavailableError(f"{self.jwks_url} lists no RSA public keys")
        log.info("read %d public key(s) of the DC/OS IAM from %s", len(keys), self.jwks_url)
        return _KeySet(keys, now)


def _matching(keys: _KeySet, kid: str | None) -> list[object]:
    if kid is None:
        return list(keys.keys.values())
    return [keys.keys[kid]] if kid in keys.keys else []
