"""The leader lock: one etcd key bound to a lease, so that only one scheduler acts.

The key is created only when absent, holds the holder's identity and lives as long as the
holder's lease. A keepalive thread refreshes the lease every third of its TTL and checks
that the key is still the one this lock created. Leadership is lost when the lease
expires, when the key is deleted or replaced, or when etcd cannot be reached for a whole
TTL; `on_lost` is then called once (from the keepalive thread: keep it short). `is_leader`
turns false by itself once the TTL counted from the last refresh *request* has passed,
which is never later than etcd's own expiry of the lease.

Fencing: the key's create revision is unique to one acquisition. Every write of the store
compares it, so a scheduler that lost the lock, even one that has not noticed yet, can
never write.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from framework.state.connection import EtcdConnection, create_revision_is, delete_range, put
from framework.state.errors import NotLeader, StoreConfigError, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 15
MIN_TTL_S = 2
MAX_POLL_INTERVAL_S = 1.0
KEEPALIVES_PER_TTL = 3


def default_identity() -> str:
    """Host, process and a random token: distinct even for two schedulers in one process."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


class LeaderLock:
    """Acquire, keep and release leadership of one framework."""

    def __init__(self, conn: EtcdConnection, key: str, *, identity: str | None = None,
                 ttl_s: int = DEFAULT_TTL_S,
                 on_lost: Callable[[str], None] | None = None) -> None:
        if not isinstance(ttl_s, int) or ttl_s < MIN_TTL_S:
            raise StoreConfigError(f"leader lease TTL must be a whole number >= {MIN_TTL_S} s")
        self.conn = conn
        self.key = key
        self.identity = identity or default_identity()
        self.ttl_s = ttl_s
        self.on_lost = on_lost
        self.lost_reason: str | None = None
        self._lock = threading.Lock()
        self._fence: int | None = None
        self._lease: int | None = None
        self._valid_until = 0.0
        self._unrevoked: int | None = None  # the lease of a lost acquisition etcd kept
        self._stop = threading.Event()
        self._keepalive: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._fence is not None and time.monotonic() < self._valid_until

    @property
    def fence(self) -> int:
        """The leader key's create revision for this acquisition; NotLeader when not held."""
        fence = self._fence
        if fence is None or time.monotonic() >= self._valid_until:
            raise NotLeader(f"not the leader of {self.key}"
                            + (f": {self.lost_reason}" if self.lost_reason else ""))
        return fence

    @property
    def poll_interval_s(self) -> float:
        return min(MAX_POLL_INTERVAL_S, self.ttl_s / 4)

    def holder(self) -> str | None:
        """The identity of the current leader, None when nobody holds the lock."""
        kv = self.conn.get(self.key)
        return kv.value.decode(errors="replace") if kv else None

    def try_acquire(self) -> bool:
        """One attempt: True when this lock is (now) the leader."""
        if self.is_leader:
            return True
        stale = self._fence
        if stale is not None:
            self.mark_lost(stale, "the lease ran out before it could be refreshed")
        if self._unrevoked is not None:
            # Lost while etcd was unreachable: our own key would linger for up to a TTL
            # after etcd returns and keep us waiting for ourselves. Nobody else uses it.
            self.conn.revoke_lease(self._unrevoked)
            self._unrevoked = None
        if self.conn.get(self.key) is not None:
            return False
        requested_at = time.monotonic()
        lease, granted = self.conn.grant_lease(self.ttl_s)
        try:
            result = self.conn.txn([create_revision_is(self.key, 0)],
                                   [put(self.key, self.identity.encode(), lease)])
        except StoreError:
            self._revoke_quietly(lease)
            raise
        if not result.succeeded:
            self._revoke_quietly(lease)
            return False
        with self._lock:
            self._fence, self._lease, self.lost_reason = result.revision, lease, None
            self._valid_until = requested_at + granted
            self._stop = threading.Event()
            self._keepalive = threading.Thread(
                target=self._keep_alive, args=(lease, result.revision, self._stop),
                name="leader-keepalive", daemon=True)
            self._keepalive.start()
        log.info("leader: %s holds %s (lease TTL %d s)", self.identity, self.key, granted)
        return True

    def acquire(self, timeout_s: float | None = None) -> bool:
        """Wait until this lock is the leader (True) or `timeout_s` passed (False).

        etcd being unreachable only delays the attempt; the holder's death is noticed
        within its lease TTL plus one poll interval.
        """
        end = None if timeout_s is None else time.monotonic() + timeout_s
        last_problem = None
        while True:
            try:
                if self.try_acquire():
                    return True
                problem = "held"
            except StoreUnavailable as err:
                problem = f"unreachable: {err}"
            if problem != last_problem:
                log.info("leader: waiting for %s, etcd %s", self.key,
                         "shows it held by another scheduler" if problem == "held" else problem)
                last_problem = problem
            wait = self.poll_interval_s
            if end is not None:
                wait = min(wait, end - time.monotonic())
                if wait <= 0:
                    return False
            time.sleep(wait)

    def release(self) -> None:
        """Give leadership up now. Never raises for etcd trouble: the lease expires anyway."""
        with self._lock:
            fence, lease, thread = self._fence, self._lease, self._keepalive
            self._fence = self._lease = self._keepalive = None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if fence is None or lease is None:
            return
        try:
            self.conn.txn([create_revision_is(self.key, fence)], [delete_range(self.key)])
            self.conn.revoke_lease(lease)
            log.info("leader: %s released %s", self.identity, self.key)
        except StoreError as err:
            log.warning("leader: release left to lease expiry: %s", err)

    def mark_lost(self, fence: int, reason: str) -> None:
        """Record that the acquisition `fence` is gone (seen by the keepalive or a write)."""
        with self._lock:
            if self._fence is None or self._fence != fence:
                return
            self._fence, self.lost_reason = None, reason
            lease, self._lease = self._lease, None
            self._stop.set()
            self._keepalive = None
        log.warning("leader: %s lost %s: %s", self.identity, self.key, reason)
        if lease is not None and not self._revoke_quietly(lease):
            self._unrevoked = lease
        if self.on_lost is not None:
            try:
                self.on_lost(reason)
            except Exception:  # the callback's failure must not hide the loss itself
                log.exception("leader: the on_lost callback failed")

    def _keep_alive(self, lease: int, fence: int, stop: threading.Event) -> None:
        failing = False
        while not stop.wait(self.ttl_s / KEEPALIVES_PER_TTL):
            requested_at = time.monotonic()
            try:
                remaining = self.conn.keep_alive(lease)
                kv = self.conn.get(self.key)
            except StoreError as err:
                if time.monotonic() >= self._valid_until:
                    self.mark_lost(fence, f"etcd unreachable for longer than the lease TTL: {err}")
                    return
                if not failing:
                    log.warning("leader: keepalive failed, retrying until the TTL: %s", err)
                failing = True
                continue
            failing = False
            if remaining <= 0:
                self.mark_lost(fence, "the lease expired")
                return
            if kv is None or kv.create_revision != fence:
                self.mark_lost(fence, "the leader key was deleted or taken over")
                return
            with self._lock:
                if self._fence == fence:
                    self._valid_until = requested_at + remaining

    def _revoke_quietly(self, lease: int) -> bool:
        try:
            self.conn.revoke_lease(lease)
            return True
        except StoreError as err:
            log.info("leader: lease %x left to expire: %s", lease, err)
            return False
