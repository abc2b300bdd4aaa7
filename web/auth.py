"""Operator authentication: a shared token, refused outright when none is configured.

Scripts talking to the scheduler directly send ``Authorization: Bearer <token>``. Behind DC/OS
Admin Router the ``Authorization`` header belongs to DC/OS itself (``token=<DC/OS JWT>``; a
present header also overrides the browser's DC/OS login cookie), so the status page and the
CLI send the operator token in ``X-Operator-Token`` instead, which takes precedence.
"""

from __future__ import annotations

import hmac

from web.errors import ApiError

UNAUTHORIZED = 401
FORBIDDEN = 403
OPERATOR_HEADER = "X-Operator-Token"


def presented_token(authorization: str | None, operator_header: str | None) -> str | None:
    """The operator token a request carries, or None; `ApiError` for a malformed bearer."""
    if operator_header is not None:
        return operator_header.strip() or None
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(
            UNAUTHORIZED, f"send 'Authorization: Bearer <token>' or '{OPERATOR_HEADER}: <token>'"
        )
    return value.strip()


def check_operator(
    configured: str | None, authorization: str | None, operator_header: str | None
) -> None:
    """Raise `ApiError` unless the request carries the configured operator token.

    With no token configured every operator action is refused (403): an unauthenticated
    scheduler must never be controllable by whoever can reach its port.
    """
    if not configured:
        raise ApiError(
            FORBIDDEN, "operator actions are disabled: the scheduler has no operator token"
        )
    presented = presented_token(authorization, operator_header)
    if presented is None:
        raise ApiError(
            UNAUTHORIZED,
            f"missing operator token: send 'Authorization: Bearer <token>' "
            f"or '{OPERATOR_HEADER}: <token>'",
        )
    if not hmac.compare_digest(presented.encode(), configured.encode()):
        raise ApiError(UNAUTHORIZED, "wrong operator token")
