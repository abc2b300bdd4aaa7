"""Operator authentication: a shared bearer token, refused outright when none is configured."""

from __future__ import annotations

import hmac

from web.errors import ApiError

UNAUTHORIZED = 401
FORBIDDEN = 403


def check_bearer(configured: str | None, header: str | None) -> None:
    """Raise `ApiError` unless `header` is ``Bearer <configured token>``.

    With no token configured every operator action is refused (403): an unauthenticated
    scheduler must never be controllable by whoever can reach its port.
    """
    if not configured:
        raise ApiError(
            FORBIDDEN, "operator actions are disabled: the scheduler has no operator token"
        )
    if not header:
        raise ApiError(UNAUTHORIZED, "missing 'Authorization: Bearer <token>' header")
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise ApiError(UNAUTHORIZED, "the Authorization header must be 'Bearer <token>'")
    if not hmac.compare_digest(presented.encode(), configured.encode()):
        raise ApiError(UNAUTHORIZED, "wrong operator token")
