"""Typed errors of the simulated host package, under one root."""


class HostError(Exception):
    """Root of every error raised by devcluster.host."""


class HostSpecError(HostError, ValueError):
    """A host specification (or the stored host.json) is invalid."""


class EventError(HostError, ValueError):
    """An event is malformed, or an events file holds a line that is not an event."""


class FaultError(HostError, ValueError):
    """An unknown fault name or a value of the wrong type."""


class UnitError(HostError, ValueError):
    """An action a unit does not have."""


class StateError(HostError):
    """Stored host state is unreadable (for example a corrupt state file)."""


class UnitControlError(HostError):
    """The master emulator's unit control endpoint failed or answered unexpectedly."""
