"""Task ids, plans, policies and records: the engine's plain values."""

from __future__ import annotations

import json

import pytest

from framework.engine import (
    AgentRecord,
    OperatorNote,
    Plan,
    PlanError,
    Policy,
    PolicyError,
    RecordError,
    RetryPolicy,
    RolloutControl,
    StepRecord,
    StepSpec,
    TaskIdError,
    make_task_id,
    parse_task_id,
)
from tests.engine.kit import make_plan


@pytest.mark.parametrize(
    ("step", "agent_id"),
    [
        ("etcd-proxy", "2b6b0a9c-1f7e-4d7a-9d1c-8b1f0c5e0e1a-S0"),
        ("calico-node", "S1"),
        ("docker", "agent.with.dots-S3"),
        ("cni", "x"),
    ],
)
def test_task_ids_round_trip(step, agent_id):
    task_id = make_task_id(step, agent_id, "1700000000000-7")
    assert task_id == f"calico-{step}.{agent_id}.1700000000000-7"
    assert parse_task_id(task_id) == (step, agent_id)


@pytest.mark.parametrize(
    "task_id",
    [
        "other-docker.S1.1",
        "calico-docker",
        "calico-docker.S1",
        "calico-docker..1",
        "calico-docker.S1.",
        "calico-kubelet.S1.1",
        "",
    ],
)
def test_foreign_or_malformed_task_ids_are_rejected(task_id):
    with pytest.raises(TaskIdError):
        parse_task_id(task_id)


@pytest.mark.parametrize("unique", ["", "a.b"])
def test_task_id_suffix_must_be_dot_free(unique):
    with pytest.raises(TaskIdError):
        make_task_id("docker", "S1", unique)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ((StepSpec("docker", "h", 0.1, 64), StepSpec("etcd-proxy", "h", 0.1, 64)), "order"),
        ((StepSpec("docker", "h", 0.1, 64), StepSpec("docker", "h", 0.1, 64)), "distinct"),
        ((StepSpec("kubelet", "h", 0.1, 64),), "unknown"),
        ((StepSpec("docker", "", 0.1, 64),), "empty target hash"),
        ((StepSpec("docker", "h", 0, 64),), "positive"),
        ((StepSpec("docker", "h", 0.1, -1),), "positive"),
    ],
)
def test_inconsistent_plans_are_rejected(steps, problem):
    with pytest.raises(PlanError, match=problem):
        Plan(steps)


def test_plan_config_hash_follows_every_target():
    assert make_plan().config_hash == make_plan().config_hash
    assert make_plan().config_hash != make_plan(calico_node="new").config_hash
    assert make_plan().config_hash != make_plan(steps=("docker", "cni")).config_hash
    assert make_plan(steps=("cni",)).spec("docker") is None


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (1, 10.0), (2, 20.0), (3, 40.0), (5, 160.0), (6, 300.0), (60, 300.0)],
)
def test_backoff_doubles_up_to_its_cap(failures, delay):
    retry = RetryPolicy(max_attempts=100, backoff_base_s=10.0, backoff_cap_s=300.0)
    assert retry.backoff_s(failures) == delay


def test_exhaustion_and_halting_thresholds():
    retry = RetryPolicy(max_attempts=3)
    assert [retry.is_exhausted(n) for n in range(5)] == [False, False, False, True, True]
    assert [Policy(max_failed=1).is_halted(n) for n in range(3)] == [False, False, True]
    assert Policy().is_halted(1)


@pytest.mark.parametrize(
    ("now", "until", "refuse"),
    [(100.0, None, 5.0), (100.0, 90.0, 5.0), (100.0, 102.0, 5.0), (100.0, 160.0, 60.0),
     (100.0, 1e9, 3600.0)],
)
def test_waiting_refusal_lasts_until_the_agent_can_go(now, until, refuse):
    assert Policy().wait_refuse_s(now, until) == refuse


@pytest.mark.parametrize(
    "build",
    [
        lambda: RetryPolicy(max_attempts=0),
        lambda: RetryPolicy(backoff_base_s=10, backoff_cap_s=5),
        lambda: RetryPolicy(max_reruns=-1),
        lambda: Policy(max_concurrent_restarts=0),
        lambda: Policy(max_parallel=0),
        lambda: Policy(max_failed=-1),
        lambda: Policy(refuse_wait_s=0),
        lambda: Policy(refuse_wait_s=10, refuse_idle_s=5),
        lambda: Policy(launch_timeout_s=0),
    ],
)
def test_out_of_range_policies_are_rejected(build):
    with pytest.raises(PolicyError):
        build()


def _full_record() -> AgentRecord:
    step = StepRecord(
        task_id="calico-docker.S1.1-0",
        task_hash="h",
        task_state="TASK_FAILED",
        kill_requested=False,
        healthy=None,
        done_hash="g",
        skipped_hash=None,
        released=True,
        attempts=2,
        failures=1,
        reruns=1,
        message="docker did not come back <script>",
        launched_at=10.0,
        running_since=None,
        updated_at=12.5,
        backoff_until=22.5,
    )
    return AgentRecord(
        "S1",
        "a1.example",
        "public",
        "unreachable",
        11.0,
        {"docker": step, "etcd-proxy": StepRecord(task_state="TASK_RUNNING", healthy=True)},
        OperatorNote("retry", "alice", 13.0, "docker fixed by hand"),
    )


def test_agent_records_round_trip_through_json():
    record = _full_record()
    text = json.dumps(record.to_dict())
    assert AgentRecord.from_dict(json.loads(text)) == record


def test_integral_times_from_other_writers_are_accepted_as_floats():
    data = _full_record().to_dict()
    data["steps"]["docker"]["updated_at"] = 12
    assert AgentRecord.from_dict(data).steps["docker"].updated_at == 12.0


def _broken(path: tuple, value) -> dict:
    data = _full_record().to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("not an object", "expected an object"),
        (_broken(("version",), 99), "version"),
        (_broken(("id",), ""), "bad id"),
        (_broken(("role",), "master"), "role"),
        (_broken(("presence",), "away"), "presence"),
        (_broken(("presence_since",), "yesterday"), "presence_since"),
        (_broken(("steps",), []), "steps"),
        (_broken(("steps", "docker", "attempts"), "2"), "docker.attempts"),
        (_broken(("steps", "docker", "attempts"), True), "docker.attempts"),
        (_broken(("steps", "docker", "attempts"), -1), "negative"),
        (_broken(("steps", "docker", "task_state"), "TASK_SLEEPING"), "task_state"),
        (_broken(("steps", "docker", "color"), "red"), "unknown fields"),
        (_broken(("steps", "docker"), None), "docker: expected an object"),
        (_broken(("note",), {"action": "retry"}), "note: missing field"),
        (_broken(("note", "at"), "noon"), "note.at"),
    ],
)
def test_malformed_records_name_the_bad_field(data, field):
    with pytest.raises(RecordError, match=field):
        AgentRecord.from_dict(data)


def test_control_round_trips_and_rejects_junk():
    control = RolloutControl(True, "alice", 5.0, "maintenance window")
    assert RolloutControl.from_dict(json.loads(json.dumps(control.to_dict()))) == control
    for junk in ({}, {"paused": "yes"}, {"paused": True, "at": "noon"}, {"paused": True, "by": 3}):
        with pytest.raises(RecordError):
            RolloutControl.from_dict(junk)


def test_decoded_records_share_the_strings_repeated_on_every_agent():
    """A target hash decoded from each of many stored records is one string, not a copy
    per record (the scheduler's memory at 10,000 agents)."""
    stored = [json.loads(json.dumps({"task_hash": "ab" * 32, "task_state": "TASK_FINISHED",
                                     "done_hash": "ab" * 32, "message": "finished"}))
              for _ in range(2)]
    first, second = (StepRecord.from_dict(value) for value in stored)
    assert first == second
    for name in ("task_hash", "task_state", "done_hash", "message"):
        assert getattr(first, name) is getattr(second, name)
