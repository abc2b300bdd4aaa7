"""The one-line JSON summary of a chaos session."""

from __future__ import annotations

import collections
from collections.abc import Iterable

from tests.chaos.runner import RunResult


def summarize(results: Iterable[RunResult]) -> dict:
    """Seeds run, faults injected by kind, the hosts whose Docker ran another store and the
    path each host took in each rollout, invariant checks made, violations (listed), and
    runs that broke for reasons of their own (`errors`)."""
    results = list(results)
    faults: collections.Counter = collections.Counter()
    for result in results:
        faults.update(result.injected)
    return {
        "seeds": [r.seed for r in results],
        "mesos_versions": {str(r.seed): r.plan.mesos_version for r in results},
        "seeds_run": len(results),
        "another_store": {str(r.seed): [f"#{i}" for i in r.plan.another_store]
                          for r in results},
        "paths": {str(r.seed): r.paths for r in results},
        "faults": dict(sorted(faults.items())),
        "faults_skipped": sum(len(r.skipped) for r in results),
        "checks": sum(r.checks for r in results),
        "violations": [{"seed": r.seed, "invariant": v.invariant, "detail": v.detail}
                       for r in results for v in r.violations],
        "errors": [{"seed": r.seed, "error": r.error} for r in results if r.error],
        "duration_s": round(sum(r.duration_s for r in results), 1),
    }
