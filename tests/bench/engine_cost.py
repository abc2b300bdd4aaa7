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
from dataclasses import dataclass

from framework.engine import Engine, Offer, Offers, RoleResources
from tests.bench.enginesim import (
    AGENT_CPUS,
    AGENT_MEM,
    START_TIME,
    SimResult,
    bench_plan_policy,
    simulate_rollout,
)

SEED = 7
MID_ROLLOUT_CLOCK_S = 3600.0


@dataclass(frozen=True)
class EngineFigures:
    agents: int
    budget: int
    max_parallel: int
    offer_decisions_per_s: float
    cpu_s_full_rollout: float
    rollout_offers: int
    rollout_decisions: int
    rollout_simulated_s: float
    rollout_batched_offers_per_s: float


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
                                    (RoleResources(role, AGENT_CPUS, AGENT_MEM),)),)))
    now = START_TIME + MID_ROLLOUT_CLOCK_S
    started = time.process_time()
    for event in events:
        engine.decide(event, now)
    return offers / (time.process_time() - started)


def measure(agents: int, budget: int, max_parallel: int, offers: int) -> EngineFigures:
    result = simulate_rollout(agents, budget, max_parallel)
    return EngineFigures(
        agents=agents, budget=budget, max_parallel=max_parallel,
        offer_decisions_per_s=offer_decisions_per_s(result, offers),
        cpu_s_full_rollout=result.engine_cpu_s, rollout_offers=result.offers,
        rollout_decisions=result.decisions, rollout_simulated_s=result.simulated_s,
        rollout_batched_offers_per_s=result.offer_decisions_per_s)
