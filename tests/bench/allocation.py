"""CPU cost of one allocation cycle of the master emulator at 1,000 agents.

Run: python -m tests.bench.allocation [--agents N] [--cycles K]
Each cycle offers every agent's free resources to one subscribed framework (the worst
case: nothing is filtered or held), then the offers are declined with no filter so the
next cycle does the same work. Prints the median and maximum CPU time per cycle
(time.process_time) and exits 1 when the median is over the budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from devcluster.agent import AgentSpec
from devcluster.cluster import agent_ip
from devcluster.master import Master, MasterOptions
from devcluster.versions import DEFAULT_VERSION

BUDGET_MS = 100.0
DEFAULT_AGENTS = 1000
DEFAULT_CYCLES = 7
FRAMEWORK = {"user": "root", "name": "bench", "roles": ["*", "slave_public"],
             "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}]}


def build_master(work_dir: Path, agents: int,
                 mesos_version: str = DEFAULT_VERSION) -> tuple[Master, str]:
    """A master (allocator thread not started) with `agents` agents, every tenth public,
    and one subscribed framework."""
    master = Master(work_dir, MasterOptions(version=mesos_version,
                                            heartbeat_interval_s=3600.0))
    for index in range(agents):
        agent_id = master.next_agent_id()
        spec = AgentSpec(id=agent_id, hostname=f"agent-{index}.bench", ip=agent_ip(index),
                         public=index % 10 == 9, root=work_dir / "hosts" / agent_id,
                         work_dir=work_dir / "agents" / agent_id)
        master.add_agent(spec, {})
    subscription = master.subscribe({"type": "SUBSCRIBE",
                                     "subscribe": {"framework_info": dict(FRAMEWORK)}}, None)
    return master, subscription.framework_id


def decline_all(master: Master, framework_id: str) -> None:
    fw = master.frameworks[framework_id]
    stream_id = fw.subscription.stream_id
    offer_ids = [{"value": offer_id} for offer_id in fw.offers]
    master.handle_call({"type": "DECLINE", "framework_id": {"value": framework_id},
                        "decline": {"offer_ids": offer_ids, "filters": {"refuse_seconds": 0}}},
                       stream_id)
    while not fw.subscription.events.empty():
        fw.subscription.events.get_nowait()


def measure(agents: int, cycles: int, mesos_version: str = DEFAULT_VERSION) -> list[float]:
    """CPU milliseconds of each allocation cycle."""
    with tempfile.TemporaryDirectory() as tmp:
        master, framework_id = build_master(Path(tmp), agents, mesos_version)
        try:
            costs = []
            for _ in range(cycles):
                start = time.process_time()
                made = master.allocate()
                costs.append((time.process_time() - start) * 1000.0)
                if made != agents:
                    raise SystemExit(f"expected {agents} offers, the cycle made {made}")
                decline_all(master, framework_id)
            return costs
        finally:
            master.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=DEFAULT_AGENTS)
    parser.add_argument("--cycles", type=int, default=DEFAULT_CYCLES)
    args = parser.parse_args(argv)
    costs = measure(args.agents, args.cycles)
    median = statistics.median(costs)
    print(f"allocation cycle at {args.agents} agents, 1 framework: "
          f"median {median:.1f} ms CPU, max {max(costs):.1f} ms CPU "
          f"over {len(costs)} cycles (budget {BUDGET_MS:.0f} ms)")
    return 0 if median <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
