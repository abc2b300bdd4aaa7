"""A few chaos seeds on a two-agent dev cluster: faults injected, every invariant kept, one
host installed by the live path and one by the restart path."""

from __future__ import annotations

import pytest

from tests.chaos import invariants as inv
from tests.chaos.runner import run_plan
from tests.chaos.scenario import PATH_LIVE, PATH_RESTART, PHASE_INSTALL, make_plan

pytestmark = pytest.mark.e2e

AGENTS = 2
# Chosen to cover many kinds cheaply (a SIGKILL costs a 15 s leader lease), and both
# emulated Mesos versions (odd seeds 1.4, even ones 1.8):
# 7 (1.4): agent lost and back + master failover; 22 (1.8): etcd restart + second
# scheduler; 27 (1.4): SIGKILL right after a disruptive launch, stream dropped, master
# failover, agent added (its Docker runs another store too). Host #0 of each runs another
# store, so it installs by the restart path and host #1 live. 30-50 s each on two cores;
# `python -m tests.chaos` runs the rest.
SUITE_SEEDS = (7, 22, 27)


@pytest.mark.parametrize("seed", SUITE_SEEDS)
def test_seed_keeps_every_invariant(seed, tmp_path):
    plan = make_plan(seed, AGENTS)
    result = run_plan(plan, tmp_path)
    assert result.error is None
    assert result.violations == []
    assert sum(result.injected.values()) == len(plan.faults), result.skipped
    assert set(result.checked) == set(inv.INVARIANTS)
    assert result.checked[inv.END_STATE] == 2  # both rollouts settled and were checked
    assert result.paths[PHASE_INSTALL]["#0"] == PATH_RESTART
    assert result.paths[PHASE_INSTALL]["#1"] == PATH_LIVE
