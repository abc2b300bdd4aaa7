"""The one policy the scheduler waits for etcd with: which errors are waited out, for how
long, with the heartbeat beating; no real sleep."""

from __future__ import annotations

import pytest

from framework.etcd_check import ClusterUnusable, EtcdUnreachable
from framework.retry import EtcdRetry
from framework.state import ConflictError, StoreUnavailable


class Attempts:
    """Raises the given errors in turn, then returns "done"; counts beats and reports."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.beats = 0
        self.reported: list[tuple[str, float]] = []

    def __call__(self) -> str:
        if self.errors:
            raise self.errors.pop(0)
        return "done"

    def beat(self) -> None:
        self.beats += 1

    def report(self, err: Exception, delay: float) -> None:
        self.reported.append((type(err).__name__, delay))


def policy(slept: list[float]) -> EtcdRetry:
    return EtcdRetry(interval_s=2.0, recheck_s=15.0, sleep=slept.append)


def test_outages_are_waited_out_and_an_unusable_cluster_rechecked_less_often():
    slept: list[float] = []
    attempts = Attempts(StoreUnavailable("down"), EtcdUnreachable("refused"),
                        ClusterUnusable("no v2 API"))
    assert policy(slept).call(attempts, attempts.beat, attempts.report) == "done"
    assert slept == [2.0, 2.0, 15.0]
    assert attempts.reported == [("StoreUnavailable", 2.0), ("EtcdUnreachable", 2.0),
                                 ("ClusterUnusable", 15.0)]
    assert attempts.beats == 4  # before every attempt: waiting for etcd is not a stall


def test_other_errors_are_not_retried():
    slept: list[float] = []
    attempts = Attempts(ConflictError("changed"))
    with pytest.raises(ConflictError):
        policy(slept).call(attempts, attempts.beat, attempts.report)
    assert slept == [] and attempts.reported == []


def test_errors_named_for_one_call_are_retried_for_it():
    slept: list[float] = []
    attempts = Attempts(ConflictError("changed"), StoreUnavailable("down"))
    retry_on = (StoreUnavailable, ConflictError)
    assert policy(slept).call(attempts, attempts.beat, attempts.report,
                              retry_on=retry_on) == "done"
    assert slept == [2.0, 2.0]


def test_a_stop_ends_the_wait_with_the_last_error():
    slept: list[float] = []
    attempts = Attempts(StoreUnavailable("down"), StoreUnavailable("still down"))
    with pytest.raises(StoreUnavailable, match="down"):
        policy(slept).call(attempts, attempts.beat, attempts.report, stop=lambda: True)
    assert slept == [] and len(attempts.reported) == 1
