"""Pure rules for one step on one agent: its phase, and how launches, kills, status
updates and operator actions change its record."""

from __future__ import annotations

import dataclasses
from enum import Enum

from framework.engine.plan import STEP_UNINSTALL, UNINSTALL_TARGET, StepSpec
from framework.engine.policy import RetryPolicy
from framework.engine.records import HISTORY_KEPT, StepRecord
from framework.engine.tasks import (
    AGENT_LOSS_STATES,
    AGENT_RESTART_REASONS,
    INFERRED_TERMINAL_STATES,
    LAUNCHED,
    NEEDS_RESTART_EXIT_MARKER,
    RERUN_EXIT_MARKER,
    TASK_DROPPED,
    TASK_FAILED,
    TASK_FINISHED,
    TASK_RUNNING,
    TERMINAL_STATES,
    explained,
    is_live,
)


class Phase(Enum):
    """Where a step stands for its current target hash (independent of the clock)."""

    COMPLETE = "complete"  # one-shot finished / long-running healthy, with the target hash
    SKIPPED = "skipped"  # an operator skipped it for the target hash
    FAILED = "failed"  # out of attempts for the target hash
    BUSY = "busy"  # a task with the target hash is live and not yet complete
    KILLING = "killing"  # the engine killed the live task and waits for its end
    STALE = "stale"  # a task launched with an older hash is still live
    READY = "ready"  # nothing live: the step needs a launch (perhaps after a backoff)


SATISFIED = frozenset({Phase.COMPLETE, Phase.SKIPPED})


class Outcome(Enum):
    """What a terminal task update means for the step."""

    DONE = "done"
    EXPECTED = "expected"  # the engine killed it
    RERUN = "rerun"  # run again; not a failed attempt
    NEEDS_RESTART = "needs-restart"  # run again holding a restart slot; not a failure
    FAILURE = "failure"


def needs_slot(spec: StepSpec, rec: StepRecord) -> bool:
    """Whether the step's next launch needs a restart slot (and may restart units): the
    uninstall always; a disruptive install step once an installer run found this host
    needs a restart for the current target (exit 76). Otherwise a disruptive step is first
    launched without one, like a non-disruptive step."""
    if spec.name == STEP_UNINSTALL:
        return True
    return spec.disruptive and rec.restart_hash == spec.target_hash


def step_phase(spec: StepSpec, rec: StepRecord, retry: RetryPolicy) -> Phase:
    target = spec.target_hash
    live = is_live(rec.task_state)
    if live and rec.kill_requested:
        return Phase.KILLING
    if spec.long_running:
        if live and rec.task_hash == target:
            if rec.task_state == TASK_RUNNING and _healthy_enough(spec, rec.healthy):
                return Phase.COMPLETE
            return Phase.BUSY
    elif rec.done_hash == target:
        return Phase.COMPLETE
    if rec.skipped_hash == target:
        return Phase.SKIPPED
    if live:
        return Phase.BUSY if rec.task_hash == target else Phase.STALE
    if rec.task_hash == target and retry.is_exhausted(rec.failures):
        return Phase.FAILED
    return Phase.READY


def _healthy_enough(spec: StepSpec, healthy: bool | None) -> bool:
    """Running counts unless reported unhealthy; steps that must prove themselves need an
    explicit healthy report."""
    return healthy is True if spec.ready_when_healthy else healthy is not False


def launched(spec: StepSpec, rec: StepRecord, task_id: str, now: float) -> StepRecord:
    """The record once a launch of the step's target is decided (an expectation); the task
    may restart units only when the launch needs (and so holds) a restart slot."""
    same = rec.task_hash == spec.target_hash
    past = rec.current_task()
    history = rec.history if past is None else (past, *rec.history)[:HISTORY_KEPT]
    return dataclasses.replace(
        rec,
        history=history,
        task_id=task_id,
        task_hash=spec.target_hash,
        task_state=LAUNCHED,
        kill_requested=False,
        healthy=None,
        released=False,
        attempts=rec.attempts + 1 if same else 1,
        failures=rec.failures if same else 0,
        reruns=rec.reruns if same else 0,
        message=None,
        launched_at=now,
        running_since=None,
        updated_at=now,
        backoff_until=None,
        report=None,
        restart_allowed=needs_slot(spec, rec),
        address=None,
    )


def kill_requested(rec: StepRecord, now: float, message: str) -> StepRecord:
    return dataclasses.replace(rec, kill_requested=True, message=message, updated_at=now)


def classify(spec: StepSpec, rec: StepRecord, state: str, message: str, reason: str) -> Outcome:
    if state == TASK_FINISHED and not spec.long_running:
        return Outcome.DONE
    if rec.kill_requested:
        return Outcome.EXPECTED
    if state == TASK_FAILED and RERUN_EXIT_MARKER in message:
        return Outcome.RERUN
    if state == TASK_FAILED and NEEDS_RESTART_EXIT_MARKER in message and spec.disruptive \
            and not rec.restart_allowed:
        return Outcome.NEEDS_RESTART
    if state == TASK_DROPPED or (rec.task_state == LAUNCHED and state in INFERRED_TERMINAL_STATES):
        return Outcome.RERUN  # the task never started
    if spec.disruptive and (state in AGENT_LOSS_STATES or reason in AGENT_RESTART_REASONS):
        return Outcome.RERUN
    return Outcome.FAILURE


def updated(
    spec: StepSpec,
    rec: StepRecord,
    retry: RetryPolicy,
    state: str,
    message: str | None,
    reason: str | None,
    healthy: bool | None,
    now: float,
    address: str | None = None,
) -> tuple[StepRecord, Outcome | None]:
    """Apply a status update for the record's own task (the caller checked id and order)."""
    text = explained(message) if message else None
    if address is not None and address != rec.address:
        rec = dataclasses.replace(rec, address=address)
    if state not in TERMINAL_STATES:
        running_since = rec.running_since
        if state == TASK_RUNNING and running_since is None:
            running_since = now
        health = rec.healthy if healthy is None else healthy
        new = dataclasses.replace(
            rec,
            task_state=state,
            healthy=health,
            message=text or rec.message,
            running_since=running_since,
            updated_at=now,
        )
        if (
            spec.long_running
            and state == TASK_RUNNING
            and _healthy_enough(spec, health)
            and not rec.kill_requested
        ):
            new = dataclasses.replace(new, done_hash=rec.task_hash)
        return new, None

    outcome = classify(spec, rec, state, message or "", reason or "")
    if outcome is Outcome.RERUN and rec.reruns >= retry.max_reruns:
        outcome = Outcome.FAILURE
    failures, reruns, backoff_until = rec.failures, rec.reruns, None
    restart_hash = rec.task_hash if outcome is Outcome.NEEDS_RESTART else rec.restart_hash
    if outcome is Outcome.RERUN:
        reruns += 1
    elif outcome is Outcome.FAILURE:
        stable = (
            spec.long_running
            and rec.running_since is not None
            and now - rec.running_since >= retry.stable_after_s
        )
        failures = 1 if stable else failures + 1
        if not retry.is_exhausted(failures):
            backoff_until = now + retry.backoff_s(failures)
    new = dataclasses.replace(
        rec,
        task_state=state,
        kill_requested=False,
        done_hash=rec.task_hash if outcome is Outcome.DONE else rec.done_hash,
        failures=failures,
        reruns=reruns,
        message=(_DEFAULT_MESSAGES[outcome] if outcome is Outcome.NEEDS_RESTART
                 else text or _DEFAULT_MESSAGES[outcome].format(state=state)),
        running_since=None,
        updated_at=now,
        backoff_until=backoff_until,
        restart_hash=restart_hash,
        restart_reason=None if outcome is Outcome.NEEDS_RESTART else rec.restart_reason,
    )
    return new, outcome


_DEFAULT_MESSAGES = {
    Outcome.DONE: "finished",
    Outcome.EXPECTED: "killed by the scheduler",
    Outcome.RERUN: "{state}: will run again",
    Outcome.NEEDS_RESTART: "this host needs a restart: waiting for a restart slot",
    Outcome.FAILURE: "{state}",
}


def retried(rec: StepRecord, now: float, again: bool = False) -> StepRecord:
    """An operator retry: fresh attempts, no backoff, no restart slot until relaunched;
    `again`: also forget that the step finished or was skipped, so it runs once more."""
    if again:
        rec = dataclasses.replace(rec, done_hash=None, skipped_hash=None)
    return dataclasses.replace(
        rec,
        kill_requested=rec.kill_requested or is_live(rec.task_state),
        released=True,
        attempts=0,
        failures=0,
        reruns=0,
        updated_at=now,
        backoff_until=None,
    )


def uninstall_began(rec: StepRecord, now: float) -> StepRecord:
    """The uninstall record once the agent's uninstall began with the calico/node kill: it
    is marked as started with the uninstall target, so the agent holds a restart slot from
    now on (see budget.py), before the uninstall task itself is launched."""
    return dataclasses.replace(rec, task_hash=UNINSTALL_TARGET, released=False,
                               restart_allowed=True, message="stopping calico-node first",
                               updated_at=now)


def skipped(spec: StepSpec, rec: StepRecord, now: float) -> StepRecord:
    return dataclasses.replace(
        rec, skipped_hash=spec.target_hash, released=True, updated_at=now, backoff_until=None
    )
