"""The typed values the store keeps besides the opaque agent records: control and events.

They are immutable; a change is a new value (`control.paused_by(...)`). Stored as JSON
objects; a value that does not decode raises CorruptValue and is never overwritten blindly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from framework.state.errors import CorruptValue, InvalidRecord


def encode_json(value: object) -> bytes:
    """Compact, key-sorted JSON; anything JSON cannot hold is refused before any write."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"),
                          allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        raise InvalidRecord(f"not storable as JSON: {err}") from None


def decode_object(key: str, raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as err:
        raise CorruptValue(f"{key}: not JSON ({err})") from None
    if not isinstance(value, dict):
        raise CorruptValue(f"{key}: expected a JSON object, found {type(value).__name__}")
    return value


@dataclass(frozen=True)
class StoredControl:
    """Operator intent that outlives a scheduler: pause state and the uninstall request (an
    object: who asked, when and why; the engine's to read). Retry and skip are kept in the
    agent's own record (its `note`)."""

    paused: bool = False
    by: str | None = None
    at: float | None = None
    why: str | None = None
    uninstall: Mapping[str, Any] | None = None

    def paused_by(self, by: str, at: float, why: str) -> StoredControl:
        return replace(self, paused=True, by=by, at=at, why=why)

    def resumed_by(self, by: str, at: float, why: str) -> StoredControl:
        return replace(self, paused=False, by=by, at=at, why=why)

    def to_json(self) -> bytes:
        return encode_json(asdict(self))

    @classmethod
    def from_json(cls, key: str, raw: bytes) -> StoredControl:
        value = decode_object(key, raw)
        # Earlier releases stored an always-empty `agent_requests` object: ignored.
        value.pop("agent_requests", None)
        try:
            return cls(**value)
        except TypeError as err:
            raise CorruptValue(f"{key}: not a control record ({err})") from None


@dataclass(frozen=True)
class NewEvent:
    """An event to append; the store stamps its sequence number and time."""

    kind: str
    message: str
    agent_id: str | None = None
    by: str | None = None  # the authenticated operator, for operator actions


@dataclass(frozen=True)
class Event:
    """One entry of the bounded event log; `seq` grows by one per event of a framework."""

    seq: int
    at: float
    kind: str
    message: str
    agent_id: str | None = None
    by: str | None = None  # events stored before `by` was kept decode as None

    def to_json(self) -> bytes:
        return encode_json(asdict(self))

    @classmethod
    def from_json(cls, key: str, raw: bytes) -> Event:
        try:
            return cls(**decode_object(key, raw))
        except TypeError as err:
            raise CorruptValue(f"{key}: not an event ({err})") from None
