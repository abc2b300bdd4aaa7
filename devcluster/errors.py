"""The master emulator's exceptions, under one root."""

from __future__ import annotations


class EmulatorError(Exception):
    """Root of every error the master emulator raises on purpose."""


class CallError(EmulatorError):
    """A request the master refuses; `status` is the HTTP code Mesos answers with."""

    def __init__(self, status: int, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class TaskInvalid(EmulatorError):
    """A task in a LAUNCH that the master answers with TASK_ERROR."""


class ResourceError(EmulatorError, ValueError):
    """A resource list the master would reject."""


class FetchError(EmulatorError):
    """A URI the fetcher could not place in the sandbox; the task fails to launch."""
