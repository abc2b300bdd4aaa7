"""The scheduler's state in etcd: framework id, agent records, control, event log.

Reads need no leadership. Every write is one etcd transaction that
  * compares the leader key's create revision with this scheduler's acquisition (fencing:
    a deposed scheduler gets NotLeader and its lock is marked lost), and
  * compares each written key's mod revision with the one this store last saw (absent
    keys must still be absent), so a change made by anyone else raises ConflictError.
The store remembers the revisions it read or wrote, so callers pass only values; after a
ConflictError they reload (`load_agents`, `load_control`...) and decide again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import etcd3.etcdrpc as rpc

from framework.state.connection import (
    EtcdConnection,
    create_revision_is,
    delete_range,
    get,
    mod_revision_is,
    put,
)
from framework.state.errors import (
    ConflictError,
    CorruptValue,
    InvalidRecord,
    NotLeader,
    StoreConfigError,
    StoreError,
)
from framework.state.keys import DEFAULT_ROOT, Keyspace, range_end
from framework.state.leader import DEFAULT_TTL_S, LeaderLock
from framework.state.values import Event, NewEvent, StoredControl, decode_object, encode_json

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_EVENTS = 1000
READ_PAGE_KEYS = 1000
# etcd refuses transactions with more than 128 operations (--max-txn-ops) or requests
# over 1.5 MiB; bigger batches are split into transactions that stay below both.
MAX_TXN_OPS = 128
MAX_TXN_BYTES = 1024 * 1024


def _as_stored(agent_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return value


@dataclass
class Batch:
    """Changes to write together: agent records to put or remove, events, control."""

    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed_agents: set[str] = field(default_factory=set)
    events: list[NewEvent] = field(default_factory=list)
    control: StoredControl | None = None


@dataclass
class StoreStats:
    """Counters for benchmarks: etcd write transactions sent, keys written by them."""

    write_transactions: int = 0
    keys_written: int = 0


@dataclass(frozen=True)
class _Write:
    key: str
    value: bytes | None  # None deletes the key


class StateStore:
    """One framework's state under `<root>/<framework_name>/`."""

    def __init__(self, conn: EtcdConnection, framework_name: str, *, root: str = DEFAULT_ROOT,
                 identity: str | None = None, lease_ttl_s: int = DEFAULT_TTL_S,
                 max_events: int = DEFAULT_MAX_EVENTS,
                 on_leadership_lost: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if not isinstance(max_events, int) or max_events < 1:
            raise StoreConfigError(f"max_events must be a positive whole number: {max_events}")
        self.conn = conn
        self.keys = Keyspace(root, framework_name)
        self.leader = LeaderLock(conn, self.keys.leader, identity=identity, ttl_s=lease_ttl_s,
                                 on_lost=on_leadership_lost)
        self.max_events = max_events
        self.clock = clock
        self.stats = StoreStats()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        # key -> (mod revision or 0 when absent, store revision at which that was seen)
        self._seen: dict[str, tuple[int, int]] = {}
        self._next_seq: int | None = None

    # -- reads --------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise StoreUnavailable unless etcd answers (for /health)."""
        self.conn.ping(self.keys.leader)

    def load_framework_id(self) -> str | None:
        raw = self._read_one(self.keys.framework_id)
        if raw is None:
            return None
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise CorruptValue(f"{self.keys.framework_id}: not UTF-8 text") from None

    def load_control(self) -> StoredControl:
        raw = self._read_one(self.keys.control)
        return StoredControl() if raw is None else StoredControl.from_json(self.keys.control, raw)

    def load_agent(self, agent_id: str) -> dict[str, Any] | None:
        key = self.keys.agent(agent_id)
        raw = self._read_one(key)
        return None if raw is None else decode_object(key, raw)

    def load_agents(self, decode: Callable[[str, dict[str, Any]], T] = _as_stored
                    ) -> dict[str, T]:
        """Every agent record, read page by page from one consistent revision, each passed
        through `decode(agent_id, value)` as soon as its page is read.

        Why `decode`: at 10,000 agents the decoded JSON objects of every record together
        take about twice the memory of the caller's own records; handed over one by one,
        only one page of them is alive at a time (the scheduler's peak resident set)."""
        prefix = self.keys.agents_prefix
        records: dict[str, T] = {}
        seen: dict[str, int] = {}
        revision = 0
        start = prefix
        while True:
            page = self.conn.range(start, range_end(prefix), limit=READ_PAGE_KEYS,
                                   revision=revision)
            revision = revision or page.revision
            for kv in page.kvs:
                agent_id = self.keys.agent_id_of(kv.key)
                records[agent_id] = decode(agent_id, decode_object(kv.key, kv.value))
                seen[kv.key] = kv.mod_revision
            if not page.more or not page.kvs:
                break
            start = page.kvs[-1].key + "\0"
        with self._lock:
            for key in [k for k in self._seen if k.startswith(prefix) and k not in seen]:
                self._observe(key, 0, revision)
            for key, mod_revision in seen.items():
                self._observe(key, mod_revision, revision)
        return records

    def recent_events(self, limit: int = 100, agent_id: str | None = None) -> list[Event]:
        """Up to `limit` newest events, newest first, optionally only those of one agent."""
        prefix = self.keys.events_prefix
        found: list[Event] = []
        end = range_end(prefix)
        while len(found) < limit:
            page = self.conn.range(prefix, end, limit=READ_PAGE_KEYS, descending=True)
            for kv in page.kvs:
                event = Event.from_json(kv.key, kv.value)
                if agent_id is None or event.agent_id == agent_id:
                    found.append(event)
            if not page.more or not page.kvs:
                break
            end = page.kvs[-1].key
        return found[:limit]

    # -- writes (leader only) -----------------------------------------------------------

    def commit(self, batch: Batch) -> list[Event]:
        """Write a batch (transactions of up to MAX_TXN_OPS keys); returns the events logged.

        The batch is atomic when it fits one transaction; a bigger one is applied chunk by
        chunk, each chunk atomic, so a ConflictError may leave earlier chunks written.
        """
        overlap = batch.removed_agents & batch.agents.keys()
        if overlap:
            raise InvalidRecord(f"agents both written and removed: {sorted(overlap)}")
        for record in batch.agents.values():
            if not isinstance(record, dict):
                raise InvalidRecord(f"an agent record must be a dict, not {type(record)}")
        writes = [_Write(self.keys.control, batch.control.to_json())] if batch.control else []
        writes += [_Write(self.keys.agent(a), encode_json(r)) for a, r in batch.agents.items()]
        writes += [_Write(self.keys.agent(a), None) for a in sorted(batch.removed_agents)]
        return self._commit(writes, batch.events)

    def put_agent(self, agent_id: str, record: dict[str, Any]) -> None:
        self.commit(Batch(agents={agent_id: record}))

    def remove_agent(self, agent_id: str) -> None:
        self.commit(Batch(removed_agents={agent_id}))

    def save_control(self, control: StoredControl) -> None:
        self.commit(Batch(control=control))

    def append_events(self, *events: NewEvent) -> list[Event]:
        return self.commit(Batch(events=list(events)))

    def save_framework_id(self, framework_id: str) -> None:
        if not isinstance(framework_id, str) or not framework_id.strip():
            raise InvalidRecord(f"framework id must be a non-empty string: {framework_id!r}")
        self._commit([_Write(self.keys.framework_id, framework_id.encode())], [])

    def clear_framework(self, why: str, keep_agents: bool = False) -> Event:
        """Forget the Mesos registration: delete the framework id and every agent record
        (unless `keep_agents`: an uninstall still needs to know where Calico is).

        For "Framework has been removed": the scheduler registers afresh afterwards. One
        fenced transaction; it deletes nothing outside this framework's prefix and keeps
        the operator's control settings, the event log (which records this) and the lock.
        """
        agents = self.keys.agents_prefix
        deletes = [delete_range(self.keys.framework_id)]
        if not keep_agents:
            deletes.append(delete_range(agents, range_end(agents)))
        [event] = self._commit([], [NewEvent("framework-cleared", why)], deletes)
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if k != self.keys.framework_id
                          and (keep_agents or not k.startswith(agents))}
        log.info("state: cleared the framework id%s of %s: %s",
                 "" if keep_agents else " and agent records", self.keys.prefix, why)
        return event

    def remove_all(self) -> None:
        """Delete everything this framework keeps but the leader lock: framework id, agent
        records, control and event log. For the end of an uninstall, so the name can be
        reused from a clean slate. One fenced transaction, within this framework's prefix."""
        agents, events = self.keys.agents_prefix, self.keys.events_prefix
        deletes = [delete_range(self.keys.framework_id), delete_range(self.keys.control),
                   delete_range(agents, range_end(agents)),
                   delete_range(events, range_end(events))]
        self._commit([], [], deletes)
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if k == self.keys.leader}
            self._next_seq = None
        log.info("state: removed every key of %s but the leader lock", self.keys.prefix)

    # -- internals ----------------------------------------------------------------------

    def _read_one(self, key: str) -> bytes | None:
        result = self.conn.range(key)
        with self._lock:
            mod_revision = result.kvs[0].mod_revision if result.kvs else 0
            self._observe(key, mod_revision, result.revision)
        return result.kvs[0].value if result.kvs else None

    def _observe(self, key: str, mod_revision: int, at_revision: int) -> None:
        """Remember a key's revision unless something newer is already known."""
        known = self._seen.get(key)
        if known is None or at_revision >= known[1]:
            self._seen[key] = (mod_revision, at_revision)

    def _expected(self, key: str) -> int:
        with self._lock:
            return self._seen.get(key, (0, 0))[0]

    def _event_seq(self) -> int:
        """The next event sequence number, read from the newest stored event when unknown."""
        if self._next_seq is None:
            newest = self.conn.range(self.keys.events_prefix, range_end(self.keys.events_prefix),
                                     limit=1, descending=True).kvs
            self._next_seq = self.keys.seq_of(newest[0].key) + 1 if newest else 1
        return self._next_seq

    def _commit(self, writes: list[_Write], new_events: list[NewEvent],
                extra_ops: list[rpc.RequestOp] | None = None) -> list[Event]:
        """Stamp events, then write everything in as few fenced transactions as etcd allows.

        `extra_ops` (unconditional range deletes) and the event log trim ride in the last one.
        """
        with self._write_lock:
            fence = self.leader.fence
            first_seq = self._event_seq() if new_events else 0
            now = self.clock()
            events = [Event(first_seq + i, now, e.kind, e.message, e.agent_id, e.by)
                      for i, e in enumerate(new_events)]
            last_ops = list(extra_ops or [])
            if events:
                oldest_kept = events[-1].seq - self.max_events + 1
                writes = writes + [_Write(self.keys.event(e.seq), e.to_json())
                                   for e in events if e.seq >= oldest_kept]
                if oldest_kept > 1:
                    last_ops.append(delete_range(self.keys.event(0), self.keys.event(oldest_kept)))
            if not writes and not last_ops:
                return events
            chunks = _chunks(writes)
            try:
                for index, chunk in enumerate(chunks):
                    self._commit_chunk(fence, chunk, last_ops if index == len(chunks) - 1 else [])
            except StoreError:
                if events:
                    self._next_seq = None  # unknown whether or which events landed: reread
                raise
            if events:
                self._next_seq = events[-1].seq + 1
            return events

    def _commit_chunk(self, fence: int, writes: list[_Write],
                      extra_ops: list[rpc.RequestOp]) -> None:
        compare = [create_revision_is(self.keys.leader, fence)]
        compare += [mod_revision_is(w.key, self._expected(w.key)) for w in writes]
        ops = [put(w.key, w.value) if w.value is not None else delete_range(w.key)
               for w in writes] + extra_ops
        result = self.conn.txn(compare, ops, [get(self.keys.leader)])
        self.stats.write_transactions += 1
        self._raise_if_failed(result, fence)
        self.stats.keys_written += len(writes)
        with self._lock:
            for w in writes:
                if not w.key.startswith(self.keys.events_prefix):
                    self._observe(w.key, result.revision if w.value is not None else 0,
                                  result.revision)

    def _raise_if_failed(self, result: Any, fence: int) -> None:
        if result.succeeded:
            return
        holder = result.ranges[0][0] if result.ranges and result.ranges[0] else None
        if holder is None or holder.create_revision != fence:
            reason = ("the leader key is gone" if holder is None
                      else f"{holder.value.decode(errors='replace')} holds the leader key")
            self.leader.mark_lost(fence, reason)
            raise NotLeader(f"write refused, not the leader of {self.keys.prefix}: {reason}")
        raise ConflictError(f"a key under {self.keys.prefix} changed since it was read")


def _chunks(writes: list[_Write]) -> list[list[_Write]]:
    """Split writes so each transaction stays under etcd's operation and size limits.

    Each transaction also compares the leader key and may carry one more operation (the
    event log trim), hence MAX_TXN_OPS - 1 writes at most.
    """
    chunks: list[list[_Write]] = [[]]
    size = 0
    for write in writes:
        write_size = len(write.key) + len(write.value or b"")
        if chunks[-1] and (len(chunks[-1]) + 1 >= MAX_TXN_OPS
                           or size + write_size > MAX_TXN_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(write)
        size += write_size
    return chunks
