"""Immutable rollout policies with pure decision methods; the tunables' defaults live here."""

from __future__ import annotations

from dataclasses import dataclass, field

from framework.engine.errors import PolicyError

DEFAULT_MAX_CONCURRENT_RESTARTS = 1
DEFAULT_MAX_PARALLEL = 20
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_BASE_S = 10.0
DEFAULT_BACKOFF_CAP_S = 300.0
DEFAULT_MAX_RERUNS = 5
DEFAULT_STABLE_AFTER_S = 600.0
DEFAULT_MAX_FAILED = 0
DEFAULT_REFUSE_IDLE_S = 3600.0
DEFAULT_REFUSE_WAIT_S = 5.0
# An agent whose one-shot task runs (and the rest of the offer a one-shot task is launched
# from): its end normally lifts the filter (see Engine._wait). The bound covers an end that
# reached the master before the refused offer was made, and a long-running task launched
# after the end: it shrinks the agent's free resources back inside what was refused, so a
# longer filter would hold back the offer of the step after it (verify after calico-node).
DEFAULT_REFUSE_BUSY_S = 5.0
DEFAULT_LAUNCH_TIMEOUT_S = 120.0
# Records of agents gone from the cluster are kept this long (for the page and the event
# log), then forgotten: a cluster that replaces its agents does not grow its state forever.
DEFAULT_GONE_RETENTION_S = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a step may fail, and how long to wait between attempts.

    `max_reruns` bounds "run again" outcomes (installer exit 75, task lost while its agent
    restarted) so an agent that restarts forever eventually counts as failing.
    `stable_after_s`: a long-running task that ran this long before dying starts its failure
    count afresh, so one crash after weeks of service does not inherit old failures.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S
    max_reruns: int = DEFAULT_MAX_RERUNS
    stable_after_s: float = DEFAULT_STABLE_AFTER_S

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise PolicyError("max_attempts must be at least 1")
        if self.backoff_base_s < 0 or self.backoff_cap_s < self.backoff_base_s:
            raise PolicyError("backoff needs 0 <= backoff_base_s <= backoff_cap_s")
        if self.max_reruns < 0 or self.stable_after_s < 0:
            raise PolicyError("max_reruns and stable_after_s must not be negative")

    def is_exhausted(self, failures: int) -> bool:
        return failures >= self.max_attempts

    def backoff_s(self, failures: int) -> float:
        """Delay before the attempt that follows the `failures`-th failure."""
        if failures <= 0:
            return 0.0
        return min(self.backoff_cap_s, self.backoff_base_s * 2 ** (failures - 1))


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything that shapes the rollout besides the plan itself.

    `max_failed` is the number of failed agents the rollout tolerates: one more and the
    rollout halts (the default 0 halts at the first failed agent). `gone_retention_s`:
    how long the record of an agent gone from the cluster is kept before it is removed.
    """

    max_concurrent_restarts: int = DEFAULT_MAX_CONCURRENT_RESTARTS
    max_parallel: int = DEFAULT_MAX_PARALLEL
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_failed: int = DEFAULT_MAX_FAILED
    refuse_idle_s: float = DEFAULT_REFUSE_IDLE_S
    refuse_wait_s: float = DEFAULT_REFUSE_WAIT_S
    refuse_busy_s: float = DEFAULT_REFUSE_BUSY_S
    launch_timeout_s: float = DEFAULT_LAUNCH_TIMEOUT_S
    gone_retention_s: float = DEFAULT_GONE_RETENTION_S

    def __post_init__(self) -> None:
        if self.max_concurrent_restarts < 1 or self.max_parallel < 1:
            raise PolicyError("max_concurrent_restarts and max_parallel must be at least 1")
        if self.max_failed < 0:
            raise PolicyError("max_failed must not be negative")
        if not 0 < self.refuse_wait_s <= self.refuse_busy_s <= self.refuse_idle_s:
            raise PolicyError("refuse seconds need "
                              "0 < refuse_wait_s <= refuse_busy_s <= refuse_idle_s")
        if self.launch_timeout_s <= 0:
            raise PolicyError("launch_timeout_s must be positive")
        if self.gone_retention_s <= 0:
            raise PolicyError("gone_retention_s must be positive")

    def is_halted(self, failed_agents: int) -> bool:
        return failed_agents > self.max_failed

    def wait_refuse_s(self, now: float, until: float | None) -> float:
        """Refuse seconds for an agent that must wait, until `until` when that is known."""
        if until is None or until <= now:
            return self.refuse_wait_s
        return min(self.refuse_idle_s, max(self.refuse_wait_s, until - now))
