"""Where each fact lives in etcd, and the name checks that keep a framework in its subtree.

Every key of one framework sits under `<root>/<framework-name>/` (the trailing slash
matters: framework `calico` must never see the keys of `calico-2`). Names are one
path segment, so no value can turn the prefix into `/`, an empty string, or a parent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from framework.state.errors import StoreConfigError

DEFAULT_ROOT = "/calico-dcos"
MAX_NAME_LENGTH = 128
EVENT_SEQ_DIGITS = 20

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def _check_segment(kind: str, value: object, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str):
        raise StoreConfigError(f"{kind} must be a string, not {type(value).__name__}")
    if not value or len(value) > MAX_NAME_LENGTH or not pattern.fullmatch(value):
        raise StoreConfigError(
            f"{kind} {value!r} is not usable: 1 to {MAX_NAME_LENGTH} characters, letters, "
            "digits and _ . - only, starting with a letter or digit"
        )
    if set(value) == {"."}:
        raise StoreConfigError(f"{kind} {value!r} is not usable")
    return value


def check_framework_name(name: object) -> str:
    """Return `name` when it is a single safe key segment, else raise StoreConfigError."""
    return _check_segment("framework name", name, _NAME)


def check_agent_id(agent_id: object) -> str:
    """Mesos agent ids (`<uuid>-S<n>`) are single segments; anything else is refused."""
    return _check_segment("agent id", agent_id, _AGENT_ID)


def check_root(root: object) -> str:
    """A root is `/seg[/seg...]` with safe segments and no trailing slash."""
    if not isinstance(root, str) or not root.startswith("/") or root.endswith("/"):
        raise StoreConfigError(f"key root {root!r} must start with '/' and not end with '/'")
    for segment in root[1:].split("/"):
        _check_segment("key root segment", segment, _NAME)
    return root


def range_end(prefix: str) -> str:
    """The first key after every key that starts with `prefix` (prefixes here are ASCII)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class Keyspace:
    """The keys of one framework under one root."""

    root: str
    framework_name: str

    def __post_init__(self) -> None:
        check_root(self.root)
        check_framework_name(self.framework_name)

    @property
    def prefix(self) -> str:
        return f"{self.root}/{self.framework_name}/"

    @property
    def framework_id(self) -> str:
        return self.prefix + "framework-id"

    @property
    def control(self) -> str:
        return self.prefix + "control"

    @property
    def leader(self) -> str:
        return self.prefix + "leader"

    @property
    def agents_prefix(self) -> str:
        return self.prefix + "agents/"

    @property
    def events_prefix(self) -> str:
        return self.prefix + "events/"

    def agent(self, agent_id: str) -> str:
        return self.agents_prefix + check_agent_id(agent_id)

    def agent_id_of(self, key: str) -> str:
        return key[len(self.agents_prefix):]

    def event(self, seq: int) -> str:
        return f"{self.events_prefix}{seq:0{EVENT_SEQ_DIGITS}d}"

    def seq_of(self, key: str) -> int:
        return int(key[len(self.events_prefix):])
