"""10,000 agents: offer decisions keep the budget and the status document counts everyone.
How fast they are is the benchmarks' business (`python -m tests.bench`, engine figures)."""

from __future__ import annotations

from framework.engine import (
    AgentInfo,
    AgentsListed,
    Engine,
    Launch,
    Offer,
    Offers,
    Policy,
    RoleResources,
    TaskStatus,
)
from framework.engine.plan import LONG_RUNNING_STEPS
from tests.engine.kit import make_plan

AGENTS = 10_000
OFFERS_PER_ROUND = 10_000
ROUNDS = 3
RESOURCES = (RoleResources("*", 4.0, 4096.0), RoleResources("slave_public", 1.0, 512.0))


def _cluster() -> Engine:
    engine = Engine(make_plan(), Policy(max_concurrent_restarts=2, max_parallel=50))
    infos = tuple(AgentInfo(f"S{i}", f"agent-{i}.example") for i in range(AGENTS))
    engine.decide(AgentsListed(infos), 0.0)
    return engine


def _round(engine: Engine, start: int, now: float) -> None:
    """Offer to every agent once, confirming every third launch."""
    for i in range(OFFERS_PER_ROUND):
        agent = (start + i * 7919) % AGENTS
        offer = Offer(f"o{start}-{i}", f"S{agent}", f"agent-{agent}.example", RESOURCES)
        decision = engine.decide(Offers((offer,)), now)
        if i % 3 == 0:
            for action in decision.actions:
                if isinstance(action, Launch):
                    done = "TASK_RUNNING" if action.step in LONG_RUNNING_STEPS else "TASK_FINISHED"
                    engine.decide(TaskStatus(action.task_id, done), now)


def test_offer_decisions_at_ten_thousand_agents():
    engine = _cluster()
    for r in range(ROUNDS):
        _round(engine, r * OFFERS_PER_ROUND, 10.0 + r)
    doc = engine.status_document(100.0)
    assert doc["rollout"]["counts"]["total"] == AGENTS
    assert doc["rollout"]["budget"]["in_use"] <= 2
