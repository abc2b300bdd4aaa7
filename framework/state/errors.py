"""The state store's error tree: callers catch `StoreError` or one of its kinds."""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the state store raises."""


class StoreUnavailable(StoreError):
    """No etcd endpoint answered: keep serving what is known and try again later."""


class ConflictError(StoreError):
    """A compare-and-swap lost: something changed since it was read. Reload, then retry."""


class NotLeader(StoreError):
    """This scheduler does not hold the leader lock, so it must not write."""


class CorruptValue(StoreError):
    """A stored value is not what this version writes; it is left untouched."""


class StoreAuthError(StoreError):
    """etcd refused the configured user and password: no retry fixes that."""


class StoreConfigError(StoreError, ValueError):
    """A framework name, key root, endpoint or TLS setting cannot be used."""


class InvalidRecord(StoreError, ValueError):
    """A value handed to the store cannot be stored (not JSON, unknown action...)."""
