"""Figure 2: the pure engine's cost per offer mid-rollout, and for a whole rollout.

`engine_offer_decisions_per_s`: single-offer OFFERS events (the worst case: the per-event
cost is not shared) for randomly chosen agents of an engine rebuilt from the records of a
cluster half-way through its rollout, timed with the CPU clock.
`engine_cpu_s_full_rollout`: CPU of every `decide` in a whole simulated rollout
(`tests.bench.enginesim`).
"""

from __future__ import annotations

import random
import time

from framework.engine import Engine, Offer, Offers, RoleResources
from tests.bench.enginesim import (
    AGENT_CPUS,
    AGENT_MEM,
    START_TIME,
    SimResult,
    bench_plan_policy,
)

SEED = 7
MID_ROLLOUT_CLOCK_S = 3600.0


def offer_decisions_per_s(result: SimResult, offers: int) -> float:
    """Single-offer decisions per CPU second on an engine holding `result.mid_records`."""
    plan, policy = bench_plan_policy(result.budget, {"CALICO_MAX_PARALLEL_TASKS":
                                                     str(result.max_parallel)})
    engine = Engine(plan, policy, result.mid_records)
    rng = random.Random(SEED)
    agents = list(engine.agents.values())
    events = []
    for index in range(offers):
        agent = rng.choice(agents)
        role = "slave_public" if agent.role == "public" else "*"
        events.append(Offers((Offer(f"bench-O{index}", agent.agent_id, agent.hostname,
                                    (RoleResources(role, AGENT_CPUS, AGENT_MEM),),
                                    public=agent.role == "public"),)))
    now = START_TIME + MID_ROLLOUT_CLOCK_S
    started = time.process_time()
    for event in events:
        engine.decide(event, now)
    return offers / (time.process_time() - started)

