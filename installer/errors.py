"""Typed errors of the installer; every one carries a one-line reason for the operator."""


class InstallerError(Exception):
    """Root of every error the installer reports as a failed step (exit 1)."""

    exit_code = 1

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))

    @property
    def reason(self) -> str:
        return str(self)


class BadInput(InstallerError):
    """An option, input file or existing host file is unusable; nothing was changed."""


class HostError(InstallerError):
    """The host refused an operation (read-only root, unreadable dir, failing command)."""


class ServiceError(InstallerError):
    """A systemd unit did not reach or keep the active state in time."""
