"""Waiting on a condition with a deadline: the one way tests synchronise (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_S = 20.0
POLL_S = 0.02


def wait_until(condition: Callable[[], T], deadline_s: float = DEADLINE_S,
               what: str = "condition", interval_s: float = POLL_S) -> T:
    """`condition()`'s first truthy value; fails the test (AssertionError naming `what`)
    once `deadline_s` has passed. The condition is always tried at least once."""
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(interval_s)
