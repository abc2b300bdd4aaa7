"""The one-line JSON summary of a chaos session."""

from __future__ import annotations

import collections
from collections.abc import Iterable

from tests.chaos.runner import RunResult


def summarize(results: Iterable[RunResult]) -> dict:
    """seeds run, faults injected by kind, invariant checks made, violations (listed)."""
    results = list(results)
    faults: collections.Counter = collections.Counter()
    for result in results:
        faults.update(result.injected)
    return {
        "seeds": [r.seed for r in results],
        "seeds_run": len(results),
        "faults": dict(sorted(faults.items())),
        "faults_skipped": sum(len(r.skipped) for r in results),
        "checks": sum(r.checks for r in results),
        "violations": [{"seed": r.seed, "invariant": v.invariant, "detail": v.detail}
                       for r in results for v in r.violations],
        "duration_s": round(sum(r.duration_s for r in results), 1),
    }
