"""The scheduler's state in etcd v3: leader lock, framework id, agent records, control, events.

Layout under `<root>/<framework-name>/` (root defaults to `/calico-dcos`):
  framework-id     the Mesos framework id, plain text
  agents/<id>      one JSON object per agent: the rollout engine's record, opaque here
  control          JSON `StoredControl`: paused, by, at, why, uninstall
  events/<seq>     JSON `Event`, seq zero-padded to 20 digits; oldest trimmed past max_events
  leader           the leader's identity, bound to its lease

Use:
    conn = EtcdConnection(["https://10.0.0.1:2379", "https://10.0.0.2:2379"],
                          tls=TLSFiles(ca_file, cert_file, key_file), timeout_s=5.0,
                          credentials=Credentials(user, password))   # etcd auth, optional
    store = StateStore(conn, "calico", lease_ttl_s=15, on_leadership_lost=callback)
    store.leader.acquire(timeout_s=None)        # blocks until leader; True/False
    store.leader.is_leader, store.leader.holder(), store.leader.release()
    framework_id = store.load_framework_id()    # None on first start
    agents = store.load_agents()                # {agent_id: record}, paged reads
    records = store.load_agents(decode)         # {agent_id: decode(agent_id, record)}
    control = store.load_control()              # StoredControl() when never written
    store.commit(Batch(agents={agent_id: record}, removed_agents={gone_id},
                       events=[NewEvent("step", "cni done", agent_id)], control=control))
    store.put_agent(id, record); store.remove_agent(id); store.save_control(control)
    store.append_events(NewEvent(...), ...)     # returns the stamped Events
    store.save_framework_id(fid); store.clear_framework(why)   # "Framework has been removed"
    store.recent_events(limit=50, agent_id=None)                # newest first
    store.ping()                                # for /health: StoreUnavailable when down
    store.stats.write_transactions              # etcd write transactions sent so far

Reads need no leadership. Writes are compare-and-swap transactions fenced by the leader
lock: one etcd transaction per `commit` (split only past etcd's 128-operation or 1 MiB
request limits), so an agent step transition plus its event costs one write. Errors:
`StoreError` > `StoreUnavailable` (no endpoint answers: keep serving, retry later),
`ConflictError` (reload, decide again), `NotLeader` (stop acting; the lock is marked
lost), `CorruptValue`, `InvalidRecord`, `StoreConfigError` (bad name, endpoint, TLS),
`StoreAuthError` (etcd refused the user and password).
Endpoints use TLS when their scheme is https; the CA file is then required.
"""

from framework.state.connection import Credentials, EtcdConnection, TLSFiles
from framework.state.errors import (
    ConflictError,
    CorruptValue,
    InvalidRecord,
    NotLeader,
    StoreAuthError,
    StoreConfigError,
    StoreError,
    StoreUnavailable,
)
from framework.state.keys import DEFAULT_ROOT, check_framework_name
from framework.state.leader import DEFAULT_TTL_S, LeaderLock
from framework.state.store import DEFAULT_MAX_EVENTS, Batch, StateStore, StoreStats
from framework.state.values import Event, NewEvent, StoredControl

__all__ = [
    "DEFAULT_MAX_EVENTS", "DEFAULT_ROOT", "DEFAULT_TTL_S", "Batch",
    "ConflictError", "CorruptValue", "Credentials", "EtcdConnection", "Event",
    "InvalidRecord", "LeaderLock", "NewEvent", "NotLeader", "StateStore", "StoreAuthError",
    "StoreConfigError", "StoreError", "StoreStats", "StoreUnavailable", "StoredControl",
    "TLSFiles",
    "check_framework_name",
]
