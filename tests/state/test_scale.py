"""10,000 agents: written in batches and loaded back whole with paged range reads."""

from __future__ import annotations

from framework.state import Batch, NewEvent

AGENTS = 10_000


def record(i: int) -> dict:
    steps = {name: {"state": "complete", "attempts": 1, "task_id": f"calico-{name}.a-S{i}.x",
                    "target_hash": "0123456789abcdef" * 2, "updated_at": 1764240000.0 + i,
                    "message": None}
             for name in ("etcd-proxy", "docker", "cni", "calico-node")}
    return {"hostname": f"agent-{i}.example", "role": "private", "steps": steps}


def test_ten_thousand_agents_round_trip(leader_store):
    records = {f"a-S{i}": record(i) for i in range(AGENTS)}
    leader_store.commit(Batch(agents=records))
    assert leader_store.load_agents() == records

    # After the load every record's revision is known: an update is one fenced transaction.
    before = leader_store.stats.write_transactions
    leader_store.commit(Batch(agents={"a-S42": {**record(42), "role": "public"}},
                              events=[NewEvent("step-complete", "cni", "a-S42")]))
    assert leader_store.stats.write_transactions == before + 1
