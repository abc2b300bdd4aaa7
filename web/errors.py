"""Errors raised while handling a request; each becomes a JSON body with its status code."""

from __future__ import annotations


class WebError(Exception):
    """Root of the web package's own errors."""


class ApiError(WebError):
    """A request the app refuses: `status` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WebConfigError(WebError):
    """`create_app` was given arguments it cannot work with."""
