"""Fast tests of the chaos suite's own parts: plans, disruption windows, invariant checks."""

from __future__ import annotations

import json
import math

import pytest

from tests.chaos import invariants as inv
from tests.chaos import scenario
from tests.chaos.report import summarize
from tests.chaos.runner import RunResult
from tests.chaos.schedulers import Action, disruptive_launches, read_actions
from tests.chaos.windows import (
    disruption_windows,
    paths_between,
    peak_disruption,
    restarts_between,
)


def ev(t, agent, unit, action, phase, ok=True):
    return {"time": t, "agent_id": agent, "hostname": agent, "unit": unit, "action": action,
            "phase": phase, "ok": ok}


def restart(t0, t1, agent, unit="docker", ok=True):
    return [ev(t0, agent, unit, "restart", "begin"), ev(t1, agent, unit, "restart", "end", ok)]


# -- plans ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(50))
def test_a_seed_names_one_plan_within_its_limits(seed):
    plan = scenario.make_plan(seed, 4)
    assert plan == scenario.make_plan(seed, 4)
    assert scenario.MIN_FAULTS <= len(plan.faults) <= scenario.MAX_FAULTS
    assert sum(f.kind in scenario.SHRINKING_KINDS for f in plan.faults) <= 1
    for fault in plan.faults:
        assert (fault.target is not None) == (fault.kind in scenario.TARGETED_KINDS)
        assert 0 <= fault.moment.complete < 4
        assert fault.moment.at_launch == (fault.kind == scenario.SCHEDULER_KILL_AT_LAUNCH)
    phases = [scenario.PHASES.index(f.moment.phase) for f in plan.faults]
    assert phases == sorted(phases)


@pytest.mark.parametrize("agents", [2, 3, 4])
def test_every_seed_installs_by_both_paths(agents):
    for seed in range(50):
        plan = scenario.make_plan(seed, agents)
        first = [i for i in plan.another_store if i < agents]
        assert 1 <= len(first) < agents
        assert {plan.install_path(i) for i in range(agents)} == set(scenario.PATHS)
        added = sum(f.kind == scenario.AGENT_ADDED for f in plan.faults)
        assert all(i < agents + added for i in plan.another_store)
        assert list(plan.another_store) == sorted(set(plan.another_store))


def test_host_paths_keep_the_faults_a_seed_drew_before():
    # The seeds of the e2e suite keep the faults their comments describe.
    kinds = [f.kind for f in scenario.make_plan(7, 2).faults]
    assert kinds == [scenario.AGENT_LOST, scenario.MASTER_FAILOVER]
    assert scenario.make_plan(7, 2).describe_hosts() == "Docker runs another store on #0"


def test_seeds_cover_every_fault_kind():
    kinds = {f.kind for seed in range(100) for f in scenario.make_plan(seed, 4).faults}
    assert kinds == set(scenario.FAULT_KINDS)


def test_kinds_restrict_the_draw_and_bad_arguments_are_refused():
    plan = scenario.make_plan(7, 3, (scenario.ETCD_RESTART,))
    assert {f.kind for f in plan.faults} == {scenario.ETCD_RESTART}
    with pytest.raises(scenario.PlanError, match="at least"):
        scenario.make_plan(1, 1)
    with pytest.raises(scenario.PlanError, match="unknown"):
        scenario.make_plan(1, 3, ("meteor",))


# -- disruption windows -----------------------------------------------------------------------

def test_back_to_back_restarts_on_two_agents_are_one_at_a_time():
    events = restart(0, 1, "a") + restart(1, 2, "b", "dcos-mesos-slave")
    assert peak_disruption(disruption_windows(events, {}))[0] == 1


def test_overlapping_restarts_are_counted_with_who_and_when():
    events = restart(0, 2, "a") + restart(1, 3, "b")
    assert peak_disruption(disruption_windows(events, {})) == (2, 1, ("a", "b"))


def test_docker_that_never_comes_back_disrupts_its_agent_to_the_end():
    events = restart(0, 1, "a", ok=False) + restart(50, 51, "b")
    windows = disruption_windows(events, {})
    assert window_of(windows, "a").end == math.inf
    assert peak_disruption(windows)[0] == 2


def test_a_failed_start_is_disruption_until_a_later_start_succeeds():
    events = (restart(0, 1, "a", ok=False) + [ev(5, "a", "docker", "start", "begin"),
                                              ev(6, "a", "docker", "start", "end")]
              + restart(7, 8, "b"))
    assert peak_disruption(disruption_windows(events, {}))[0] == 1


def test_a_stopped_unit_stays_disrupted_until_started():
    events = [ev(0, "a", "docker", "stop", "begin"), ev(1, "a", "docker", "stop", "end")]
    assert disruption_windows(events, {})[0].end == math.inf


def test_a_removed_agent_stops_counting_when_removed():
    events = restart(0, 1, "a", ok=False) + restart(10, 11, "b")
    assert peak_disruption(disruption_windows(events, {"a": 5}))[0] == 1
    assert disruption_windows(restart(6, 7, "a"), {"a": 5}) == []


def test_restarts_counted_per_agent_and_unit_in_a_time_range():
    events = restart(0, 1, "a") + restart(2, 3, "a") + restart(4, 5, "a", "dcos-mesos-slave")
    events.append(ev(2, "a", "etcd", "restart", "begin"))
    assert restarts_between(events, 0, 4) == {("a", "docker"): 2}


def test_paths_read_from_the_events_log():
    events = (restart(1, 2, "a") + [ev(1, "b", "docker", "reload", "begin"),
                                    ev(1, "b", "docker", "reload", "end")]
              + [ev(3, "c", "docker", "reload", "end")] + restart(4, 5, "c")
              + [ev(1, "d", "docker", "reload", "end", ok=False)] + restart(20, 21, "e"))
    assert paths_between(events, 0, 10) == {"a": "restart", "b": "live", "c": "restart"}


def window_of(windows, agent):
    return next(w for w in windows if w.agent_id == agent)


# -- invariant checks -------------------------------------------------------------------------

def status(state="complete", agents=()):
    return {"rollout": {"state": state, "reason": None}, "agents": list(agents)}


def agent(agent_id, state="complete", message=None):
    return {"id": agent_id, "state": state, "waiting_reason": None,
            "steps": [{"name": "docker", "state": "failed" if state == "failed" else "complete",
                       "message": message}]}


def test_budget_check_names_the_overlap():
    events = restart(0, 2, "a") + restart(1, 3, "b")
    assert inv.check_budget(events, {}, 2) == []
    (problem,) = inv.check_budget(events, {}, 1)
    assert "2 agents disrupted at once" in problem and "a, b" in problem


def test_end_state_accepts_complete_and_permanent_failures_with_a_reason():
    good = status("complete", [agent("a"), agent("b", "failed", "docker did not start")])
    assert inv.check_end_state(good, {"a", "b"}, {"b"}) == []
    assert inv.check_end_state(status("halted", [agent("a")]), {"a"}, {"b"}) == []
    waiting = dict(agent("a", "pending"), waiting_reason="rollout halted: 1 agent failed")
    assert inv.check_end_state(status("halted", [waiting]), {"a"}, {"b"}) == []


@pytest.mark.parametrize("doc, present, faulted, words", [
    (None, {"a"}, set(), "no scheduler leads"),
    (status("in_progress", [agent("a")]), {"a"}, set(), "'in_progress'"),
    (status("halted", [agent("a")]), {"a"}, set(), "'halted'"),
    (status("complete", [agent("a")]), {"a", "b"}, set(), "does not list it"),
    (status("complete", [agent("a", "failed", "x")]), {"a"}, set(), "ended 'failed'"),
    (status("complete", [agent("a", "failed")]), {"a"}, {"a"}, "without a reason"),
    (status("complete", [agent("a", "pending")]), {"a"}, set(), "ended 'pending'"),
    (status("halted", [agent("a", "pending")]), {"a"}, {"b"}, "ended 'pending'"),
])
def test_end_state_problems(doc, present, faulted, words):
    problems = inv.check_end_state(doc, present, faulted)
    assert any(words in text for text in problems), problems


def test_restart_check_spares_agents_a_fault_forced():
    events = restart(0, 1, "a") + restart(2, 3, "a") + restart(0, 1, "b")
    assert inv.check_restarts(events, 0, 10, {"a"}) == []
    assert inv.check_restarts(events, 0, 10, set()) == ["docker on a restarted 2 times in one "
                                                        "rollout"]
    assert inv.check_restarts(events, 1.5, 10, set()) == []


LABELS = {"a": "#0", "b": "#1"}


def test_path_check_accepts_each_host_on_its_planned_path():
    expected = {"a": "restart", "b": "live"}
    assert inv.check_paths("install", expected, {"a": "restart", "b": "live"}, {"a", "b"},
                           LABELS) == []
    # Not complete (failed, removed): only a restart of a live host counts.
    assert inv.check_paths("install", expected, {}, set(), LABELS) == []


def test_path_check_finds_a_restarted_live_host_and_a_wrong_path():
    expected = {"a": "restart", "b": "live"}
    (problem,) = inv.check_paths("install", expected, {"b": "restart"}, set(), LABELS)
    assert "#1 (b) was restarted in the install rollout" in problem
    (problem,) = inv.check_paths("change", expected, {"b": "live"}, {"a", "b"}, LABELS)
    assert "#0 (a) completed the change rollout by the 'none' path, not 'restart'" in problem


def test_docker_store_check():
    assert inv.check_docker_store("etcd://x", {"a": "etcd://x"}, LABELS) == []
    (problem,) = inv.check_docker_store("etcd://x", {"a": "etcd://x", "b": None}, LABELS)
    assert "#1 (b) is complete but its Docker runs cluster store None" in problem


def test_network_check_wants_each_complete_agent_verified_with_its_own_address():
    def status(*networks):
        return {"agents": [{"id": agent_id, "network": network}
                           for agent_id, network in zip("ab", networks, strict=True)]}

    verified = {"state": "verified", "ip": "192.168.0.1"}
    other = {"state": "verified", "ip": "192.168.0.2"}
    assert inv.check_network(status(verified, other), {"a", "b"}, LABELS) == []
    (problem,) = inv.check_network(status(verified, verified), {"a", "b"}, LABELS)
    assert problem == "agent #0 (a), agent #1 (b) were verified with one address 192.168.0.1"
    (problem,) = inv.check_network(status(verified, {"state": "failed"}), {"a", "b"}, LABELS)
    assert "#1 (b) is complete but its network is {'state': 'failed'}" in problem
    assert inv.check_network(status(verified, {"state": "failed"}), {"a"}, LABELS) == []


def master_state(*tasks, name="calico"):
    return {"frameworks": [{"name": name, "tasks": [
        {"id": t, "state": s, "slave_id": t.split(".")[1]} for t, s in tasks]}],
        "completed_frameworks": []}


def record(**steps):
    return {"steps": {name: {"task_id": t, "task_state": s} for name, (t, s) in steps.items()}}


NODE_A = "calico-calico-node.A.1"
PROXY_A = "calico-etcd-proxy.A.1"


def test_task_checks_pass_when_master_and_records_agree():
    tasks = inv.live_master_tasks(master_state((NODE_A, "TASK_RUNNING"),
                                               (PROXY_A, "TASK_RUNNING"),
                                               ("calico-cni.A.1", "TASK_FINISHED")), "calico")
    records = {"A": record(**{"calico-node": (NODE_A, "TASK_RUNNING"),
                              "etcd-proxy": (PROXY_A, "TASK_RUNNING"),
                              "cni": ("calico-cni.A.1", "TASK_FINISHED")})}
    assert set(tasks) == {NODE_A, PROXY_A}
    assert inv.check_unknown_tasks(tasks, records) == []
    assert inv.check_records_agree(tasks, records) == []
    assert inv.check_one_node_per_agent(tasks, {"A"}, {"A": 1}) == []


def test_other_frameworks_tasks_are_not_ours():
    state = master_state((NODE_A, "TASK_RUNNING"), name="marathon")
    assert inv.live_master_tasks(state, "calico") == {}


def test_task_checks_find_strays_duplicates_and_disagreement():
    second = "calico-calico-node.A.2"
    tasks = inv.live_master_tasks(master_state((NODE_A, "TASK_RUNNING"),
                                               (second, "TASK_STAGING")), "calico")
    records = {"A": record(**{"calico-node": (second, "TASK_RUNNING"),
                              "etcd-proxy": (PROXY_A, "TASK_RUNNING")})}
    (stray,) = inv.check_unknown_tasks(tasks, records)
    assert NODE_A in stray
    node_problems = inv.check_one_node_per_agent(tasks, {"A"}, {"A": 2})
    assert "agent A has 2 live calico-node tasks" in node_problems
    assert "agent A has 0 live etcd-proxy tasks" in node_problems
    assert "host of agent A runs 2 calico-node containers" in node_problems
    disagree = inv.check_records_agree(tasks, records)
    assert any(PROXY_A in text and "does not know it" in text for text in disagree)
    assert any(second in text and "TASK_STAGING" in text for text in disagree)


def test_one_scheduler_check():
    ok = [Action(1, "s1", "leader", None), Action(2, "s1", "launch", "t1"),
          Action(3, "s2", "leader", None), Action(4, "s2", "kill", "t1")]
    assert inv.check_one_scheduler(ok) == []
    bad = ok + [Action(5, "s1", "launch", "t2")]
    (problem,) = inv.check_one_scheduler(bad)
    assert "s1 logged launch t2" in problem and "s2 held" in problem
    assert inv.check_one_scheduler([Action(1, "s1", "launch", "t")])


def test_scheduler_log_lines_become_actions(tmp_path):
    log = tmp_path / "s.log"
    log.write_text(
        "2026-11-27 12:00:00,100 INFO framework: leader lock acquired\n"
        "noise from pymesos\n"
        "2026-11-27 12:00:01,250 INFO framework: launching calico-docker.S0.x on agent-1\n"
        "2026-11-27 12:00:02,000 INFO framework: launching calico-etcd-proxy.S1.y on a-2\n"
        "2026-11-27 12:00:03,000 INFO framework: killing calico-calico-node.S0.z\n")
    actions = read_actions(log, "s1")
    assert [(a.kind, a.task_id) for a in actions] == [
        ("leader", None), ("launch", "calico-docker.S0.x"), ("launch", "calico-etcd-proxy.S1.y"),
        ("kill", "calico-calico-node.S0.z")]
    assert actions[1].time - actions[0].time == pytest.approx(1.15)
    assert disruptive_launches(actions, 0) == 1
    assert disruptive_launches(actions, actions[2].time) == 0
    assert read_actions(tmp_path / "missing.log", "s2") == []


# -- the summary line -------------------------------------------------------------------------

def test_summary_counts_faults_checks_violations_and_broken_runs():
    first = RunResult(1, scenario.make_plan(1, 3))
    first.injected.update({scenario.ETCD_RESTART: 1, scenario.STREAM_DROP: 1})
    first.record(inv.BUDGET, [])
    first.record(inv.END_STATE, ["agent a ended 'pending'"])
    first.paths = {"install": {"#0": "restart", "#1": "live"}}
    second = RunResult(2, scenario.make_plan(2, 3), error="StackError: etcd did not start")
    second.injected.update({scenario.STREAM_DROP: 2})
    summary = summarize([first, second])
    assert json.loads(json.dumps(summary)) == summary
    assert summary["seeds"] == [1, 2] and summary["seeds_run"] == 2
    assert summary["faults"] == {scenario.ETCD_RESTART: 1, scenario.STREAM_DROP: 3}
    assert summary["checks"] == 2
    assert summary["another_store"]["1"] == [f"#{i}" for i in first.plan.another_store]
    assert summary["paths"] == {"1": {"install": {"#0": "restart", "#1": "live"}}, "2": {}}
    assert summary["violations"] == [{"seed": 1, "invariant": inv.END_STATE,
                                      "detail": "agent a ended 'pending'"}]
    assert summary["errors"] == [{"seed": 2, "error": "StackError: etcd did not start"}]
