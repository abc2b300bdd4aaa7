"""The benchmark's derived figures on known inputs: step attempts and transitions read from
the records the real engine stores, the ideal lower bound, percentiles."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import astuple

import etcd3
import pytest

from framework.engine import (
    AgentInfo,
    AgentRecord,
    AgentsListed,
    Engine,
    Launch,
    Offer,
    Offers,
    RoleResources,
    TaskStatus,
)
from framework.engine.tasks import RERUN_EXIT_MARKER
from framework.state.keys import DEFAULT_ROOT
from tests.bench.__main__ import misses
from tests.bench.disruption import DisruptionFigures, host_counts, report
from tests.bench.enginesim import bench_plan_policy
from tests.bench.history import AgentHistory, attempts, read_agent_histories, step_transitions
from tests.bench.recovery import percentile
from tests.bench.rollout import (
    AgentWork,
    agent_work,
    ideal_s,
    in_slot_waits,
    slot_hold,
    slot_idle_fraction,
)

AGENT = AgentInfo("bench-S0", "agent-0.bench")


class OneAgent:
    """The real engine deciding for one agent; every stored record version is kept."""

    def __init__(self) -> None:
        self.plan, self.policy = bench_plan_policy(1)
        self.engine = Engine(self.plan, self.policy)
        self.history = AgentHistory(AGENT.agent_id)
        self.offers = 0
        self.decide(AgentsListed((AGENT,)), 0.0)

    def decide(self, event, now: float):
        decision = self.engine.decide(event, now)
        self.history.records.extend(decision.records)
        return decision

    def launch(self, now: float) -> str:
        self.offers += 1
        offer = Offer(f"O{self.offers}", AGENT.agent_id, AGENT.hostname,
                      (RoleResources("*", 4.0, 4096.0),))
        decision = self.decide(Offers((offer,)), now)
        return next(a.task_id for a in decision.actions if isinstance(a, Launch))

    def run(self, launch_at: float, end_at: float, state: str, message: str = "") -> str:
        task_id = self.launch(launch_at)
        self.decide(TaskStatus(task_id, "TASK_STARTING"), launch_at + 0.1)
        self.decide(TaskStatus(task_id, "TASK_RUNNING"), launch_at + 0.2)
        if state != "TASK_RUNNING":
            self.decide(TaskStatus(task_id, state, message), end_at)
        else:  # a long-running step's first health check passes
            self.decide(TaskStatus(task_id, state, message, healthy=True), end_at)
        return task_id


@pytest.fixture
def rolled_out() -> OneAgent:
    agent = OneAgent()
    agent.run(1.0, 1.2, "TASK_RUNNING")                       # etcd-proxy, done when healthy
    agent.run(2.0, 4.0, "TASK_FINISHED")                      # docker
    agent.run(5.0, 6.0, "TASK_FAILED", f"Command exited with {RERUN_EXIT_MARKER}")
    agent.run(8.0, 9.5, "TASK_FINISHED")                      # cni again
    agent.run(10.0, 10.2, "TASK_RUNNING")                     # calico-node
    return agent


def test_attempts_run_from_launch_to_outcome(rolled_out):
    found = [(a.step, round(a.launched_at, 3), round(a.duration_s, 3))
             for a in attempts(rolled_out.plan, rolled_out.history)]
    assert found == [("etcd-proxy", 1.0, 0.2), ("docker", 2.0, 2.0), ("cni", 5.0, 1.0),
                     ("cni", 8.0, 1.5), ("calico-node", 10.0, 0.2)]


def test_agent_work_counts_the_agent_restart_between_attempts(rolled_out):
    plan, history = rolled_out.plan, rolled_out.history
    assert astuple(agent_work(plan, history, [])) == pytest.approx((0.2, 0.0, 0.2, 4.5))
    # The agent unit came back 1.5 s after the first cni attempt ended: not scheduler time.
    assert astuple(agent_work(plan, history, [7.5])) == pytest.approx((0.2, 0.0, 0.2, 6.0))


def test_waits_inside_the_slot_leave_out_the_agent_restart(rolled_out):
    plan, history = rolled_out.plan, rolled_out.history
    assert in_slot_waits(plan, history, []) == pytest.approx([1.0, 2.0])
    assert in_slot_waits(plan, history, [7.5]) == pytest.approx([1.0, 0.5])
    assert slot_hold(plan, history) == pytest.approx((2.0, 9.5))


@pytest.mark.parametrize(("holds", "budget", "expected"), [
    ([(0.0, 5.0), (5.0, 10.0)], 1, 0.0),
    ([(0.0, 4.0), (6.0, 10.0)], 1, 0.2),
    ([(0.0, 10.0), (0.0, 5.0)], 2, 0.25),
    ([], 1, 0.0),
])
def test_slot_idle_fraction(holds, budget, expected):
    assert slot_idle_fraction(holds, budget) == pytest.approx(expected)


def test_every_write_of_a_full_install_is_a_step_transition_or_close(rolled_out):
    rolled_out.run(11.0, 11.5, "TASK_FINISHED")  # verify
    transitions = step_transitions(rolled_out.plan, rolled_out.policy.retry,
                                   rolled_out.history)
    assert rolled_out.engine.facts(AGENT.agent_id).state == "complete"
    assert 0 < transitions <= rolled_out.history.writes <= 2 * transitions


@pytest.mark.parametrize(("work", "budget", "expected"), [
    ([AgentWork(1.0, 5.0, 2.0)] * 4, 1, 1.0 + 20.0 + 2.0),     # N / k rounds plus the rest
    ([AgentWork(1.0, 5.0, 2.0)] * 4, 2, 1.0 + 10.0 + 2.0),
    ([AgentWork(1.0, 5.0, 2.0)] * 4, 8, 1.0 + 5.0 + 2.0),      # one agent's work is serial
    ([AgentWork(3.0, 2.0, 1.0), AgentWork(1.0, 5.0, 2.0)], 1, 1.0 + 7.0 + 1.0),
    ([AgentWork(3.0, 2.0, 1.0), AgentWork(1.0, 6.0, 4.0)], 1, 11.0),  # one agent's own steps
    ([], 1, 0.0),
])
def test_ideal_lower_bound(work, budget, expected):
    assert ideal_s(work, budget) == pytest.approx(expected)


@pytest.mark.parametrize(("max_parallel", "expected"), [
    (None, 1.0 + 3.0 + 2.0),  # each agent's own steps, run live: no slot is needed
    (2, 8 * 6.0 / 2),          # at most two agents run them at once
])
def test_ideal_of_live_work_is_bounded_by_the_parallel_cap(max_parallel, expected):
    work = [AgentWork(1.0, 0.0, 2.0, live_s=3.0)] * 8
    assert ideal_s(work, 1, max_parallel) == pytest.approx(expected)


@pytest.mark.parametrize(("samples", "pct", "expected"), [
    ([5.0, 1.0, 3.0, 2.0, 4.0], 50, 3.0),
    ([5.0, 1.0, 3.0, 2.0, 4.0], 99, 5.0),
    (list(map(float, range(1, 201))), 99, 198.0),
])
def test_nearest_rankpercentile(samples, pct, expected):
    assert percentile(samples, pct) == expected


def test_attempts_and_work_since_a_change_leave_out_the_earlier_tasks(rolled_out):
    plan, history = rolled_out.plan, rolled_out.history
    found = [(a.step, a.launched_at) for a in attempts(plan, history, since=7.0)]
    assert found == [("cni", 8.0), ("calico-node", 10.0)]
    assert astuple(agent_work(plan, history, [], since=7.0)) == pytest.approx((0.0, 0.0, 0.2, 1.5))


def _event(when: float, unit: str, action: str, phase: str = "begin") -> dict:
    return {"time": when, "agent_id": "S0", "hostname": "h", "unit": unit, "action": action,
            "phase": phase, "ok": action != "lost"}


def test_host_counts_are_restarts_begun_and_workloads_lost_since_a_time():
    events = [_event(1.0, "docker", "restart"), _event(1.5, "docker", "restart", "end"),
              _event(1.6, "workload:docker-1", "lost", "end"),
              _event(5.0, "dcos-mesos-slave", "restart"), _event(5.1, "docker", "start"),
              _event(6.0, "workload:task-1", "lost", "end"),
              _event(6.0, "workload:task-2", "lost", "end")]
    assert host_counts(events, 0.0) == (2, 3)
    assert host_counts(events, 2.0) == (1, 2)


def _figures(scenario: str, restarts: int, lost: int, ratio: float) -> DisruptionFigures:
    return DisruptionFigures(scenario, scenario.endswith("live_restore"), 10, 1, 40, restarts,
                             restarts, lost, 11.0, 10.0, ratio)


def test_disruption_report_checks_each_figure_against_its_target():
    values, lines = report([_figures("fresh_install", 0, 0, 1.05),
                            _figures("cluster_store_change", 20, 20, 1.3),
                            _figures("cluster_store_change_live_restore", 20, 1, 1.05)])
    assert values["fresh_install_unit_restarts"] == 0
    assert values["cluster_store_change_workload_lost"] == 20
    assert "cluster_store_change_live_restore_workload_lost 1 (target <= 0): MISS" in lines
    assert "fresh_install_workload_lost 0 (target <= 0): ok" in lines
    assert "fresh_install_overhead_ratio 1.05 (target <= 1.1): ok" in lines
    assert "cluster_store_change_overhead_ratio 1.3 (target <= 1.1): MISS" in lines
    assert "cluster_store_change_unit_restarts 20" in lines  # no target: a change may restart
    document = {**values, "configurations": []}
    assert "cluster_store_change_overhead_ratio" in misses(document)
    assert "fresh_install_workload_lost" not in misses(document)


def test_a_second_read_of_etcds_history_sees_what_was_written_after_the_first(etcd_server):
    framework = f"bench-history-{id(etcd_server)}"
    key = f"{DEFAULT_ROOT}/{framework}/agents/S0"
    url = urllib.parse.urlsplit(etcd_server.endpoint)
    client = etcd3.client(host=url.hostname, port=url.port)
    try:
        client.put(key, json.dumps(AgentRecord("S0", "h0").to_dict()))
        assert len(read_agent_histories(etcd_server.endpoint, framework)["S0"].records) == 1
        client.put(key, json.dumps(AgentRecord("S0", "h1").to_dict()))
        second = read_agent_histories(etcd_server.endpoint, framework)["S0"].records
        assert [r.hostname for r in second] == ["h0", "h1"]
    finally:
        client.close()
