"""Who is asking: operator actions need an authenticated operator, whose name the event log
records as `by`.

Two ways to authenticate, either or both configured:

* The operator token, for scripts: ``X-Operator-Token: <token>`` (or, talking to the
  scheduler directly, ``Authorization: Bearer <token>``). Recorded as "operator token".
* A DC/OS login: behind DC/OS Admin Router every request carries the user's DC/OS
  authentication token as ``Authorization: token=<jwt>``; Admin Router sets that header
  from the DC/OS UI's login cookie when the browser sends none (dcos/dcos 1.10.11 and
  1.13.9, packages/adminrouter/extra/src/lib/auth/common.lua, `validate_jwt`). The
  scheduler verifies the token itself (`DcosUsers`), because its port is reachable
  without Admin Router. Recorded as the user's uid.

With neither configured every operator action is refused (403): an unauthenticated
scheduler must never be controllable by whoever can reach its port. An explicit operator
token header wins over the Admin Router header, so a page used through Admin Router can
still act with the operator token.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from web.contracts import DcosUsers, TokenRejectedError, UserCheckUnavailableError
from web.errors import ApiError

UNAUTHORIZED = 401
FORBIDDEN = 403
UNAVAILABLE = 503
OPERATOR_HEADER = "X-Operator-Token"
DCOS_SCHEME = "token="  # DC/OS authentication tokens (Admin Router, the DC/OS CLI)
BEARER_SCHEME = "bearer "
OPERATOR_TOKEN = "operator token"
VIA_OPERATOR_TOKEN = "operator-token"
VIA_DCOS = "dcos"
DISABLED = ("operator actions are disabled: configure an operator token "
            "(CALICO_OPERATOR_TOKEN) or DC/OS login (CALICO_DCOS_LOGIN)")


@dataclass(frozen=True)
class Operator:
    """An authenticated operator: `name` is what events record as `by`."""

    name: str
    via: str  # VIA_OPERATOR_TOKEN | VIA_DCOS


@dataclass(frozen=True)
class Authenticator:
    """The configured ways to authenticate; `token` None: no operator token."""

    token: str | None
    dcos_users: DcosUsers | None

    @property
    def enabled(self) -> bool:
        return bool(self.token) or self.dcos_users is not None

    def operator(self, authorization: str | None, operator_header: str | None) -> Operator:
        """The operator a request authenticates as; `ApiError` (401, 403, 503) otherwise."""
        if not self.enabled:
            raise ApiError(FORBIDDEN, DISABLED)
        if operator_header is not None:
            return self._by_operator_token(operator_header.strip())
        credential = (authorization or "").strip()
        if credential.lower().startswith(BEARER_SCHEME):
            value = credential[len(BEARER_SCHEME):].strip()
            if self.dcos_users is not None and not self._is_operator_token(value) \
                    and value.count(".") == 2:
                return self._by_dcos_token(value)  # Admin Router takes Bearer too (1.13)
            return self._by_operator_token(value)
        if credential.startswith(DCOS_SCHEME):
            return self._by_dcos_token(credential[len(DCOS_SCHEME):].strip())
        if credential:
            raise ApiError(UNAUTHORIZED, f"unsupported Authorization header: {self._how()}")
        raise ApiError(UNAUTHORIZED, f"not authenticated: {self._how()}")

    def _how(self) -> str:
        ways = []
        if self.token:
            ways.append(f"send the operator token as '{OPERATOR_HEADER}: <token>'")
        if self.dcos_users is not None:
            ways.append("log in to DC/OS and use the service through Admin Router "
                        "(or send 'Authorization: token=<DC/OS token>')")
        return " or ".join(ways)

    def _is_operator_token(self, presented: str) -> bool:
        return bool(self.token) and hmac.compare_digest(
            presented.encode("utf-8", "surrogateescape"), self.token.encode())

    def _by_operator_token(self, presented: str) -> Operator:
        if not self.token:
            raise ApiError(UNAUTHORIZED, f"this scheduler has no operator token; {self._how()}")
        if not presented:
            raise ApiError(UNAUTHORIZED, "empty operator token")
        if not self._is_operator_token(presented):
            raise ApiError(UNAUTHORIZED, "wrong operator token")
        return Operator(OPERATOR_TOKEN, VIA_OPERATOR_TOKEN)

    def _by_dcos_token(self, token: str) -> Operator:
        if self.dcos_users is None:
            raise ApiError(UNAUTHORIZED, "DC/OS login is not enabled for operator actions "
                                         f"(CALICO_DCOS_LOGIN); {self._how()}")
        try:
            return Operator(self.dcos_users.verify(token), VIA_DCOS)
        except TokenRejectedError as err:
            raise ApiError(UNAUTHORIZED, f"DC/OS token refused: {err}") from None
        except UserCheckUnavailableError as err:
            raise ApiError(UNAVAILABLE, f"cannot check the DC/OS token now: {err}") from None
