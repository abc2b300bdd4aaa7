"""10,000 agents: written in batches, loaded with paged range reads in reasonable time."""

from __future__ import annotations

import time

from framework.state import Batch, NewEvent

AGENTS = 10_000
LOAD_BOUND_S = 10.0


def record(i: int) -> dict:
    steps = {name: {"state": "complete", "attempts": 1, "task_id": f"calico-{name}.a-S{i}.x",
                    "target_hash": "0123456789abcdef" * 2, "updated_at": 1764240000.0 + i,
                    "message": None}
             for name in ("etcd-proxy", "docker", "cni", "calico-node")}
    return {"hostname": f"agent-{i}.example", "role": "private", "steps": steps}


def test_ten_thousand_agents_load_quickly(leader_store, capsys):
    records = {f"a-S{i}": record(i) for i in range(AGENTS)}
    started = time.monotonic()
    leader_store.commit(Batch(agents=records))
    written_s = time.monotonic() - started

    started = time.monotonic()
    loaded = leader_store.load_agents()
    load_s = time.monotonic() - started

    assert loaded == records
    assert load_s < LOAD_BOUND_S
    with capsys.disabled():
        print(f"\n{AGENTS} agents: written in {written_s:.2f} s "
              f"({leader_store.stats.write_transactions} transactions), loaded in {load_s:.2f} s")

    # After the load every record's revision is known: an update is one fenced transaction.
    before = leader_store.stats.write_transactions
    leader_store.commit(Batch(agents={"a-S42": {**record(42), "role": "public"}},
                              events=[NewEvent("step-complete", "cni", "a-S42")]))
    assert leader_store.stats.write_transactions == before + 1
