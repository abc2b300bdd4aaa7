"""`python -m tests.chaos --seeds N --agents M`: run seeds, end with one JSON summary line.

Progress goes to stderr; stdout carries only the summary. Exit status 1 when any
invariant was violated or a run broke, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
from pathlib import Path

from tests.chaos.report import summarize
from tests.chaos.runner import run_plan
from tests.chaos.scenario import FAULT_KINDS, MESOS_VERSIONS, PlanError, make_plan

DEFAULT_SEEDS = 10
DEFAULT_AGENTS = 4


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help=f"how many seeds to run (default {DEFAULT_SEEDS})")
    parser.add_argument("--first-seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--seed", type=int, action="append", default=[],
                        help="run exactly this seed (repeatable; overrides --seeds)")
    parser.add_argument("--agents", type=int, default=DEFAULT_AGENTS,
                        help=f"agents in the dev cluster (default {DEFAULT_AGENTS})")
    parser.add_argument("--kinds", default=",".join(FAULT_KINDS),
                        help="comma-separated fault kinds to draw from (default: all)")
    parser.add_argument("--mesos-version", choices=sorted(set(MESOS_VERSIONS)),
                        help="run every seed on this Mesos (default: even seeds 1.8, odd 1.4)")
    parser.add_argument("--work-dir", type=Path,
                        help="keep each run's files under DIR/seed-N (default: a temp dir)")
    parser.add_argument("--verbose", action="store_true", help="log each fault injected")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every stack and scheduler started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    seeds = args.seed or list(range(args.first_seed, args.first_seed + args.seeds))
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    try:
        plans = [make_plan(seed, args.agents, kinds, args.mesos_version) for seed in seeds]
    except PlanError as err:
        print(f"python -m tests.chaos: {err}", file=sys.stderr)
        return 2
    results = []
    for plan in plans:
        print(f"seed {plan.seed} (Mesos {plan.mesos_version}, {plan.describe_hosts()}): "
              + "; ".join(f.describe() for f in plan.faults), file=sys.stderr)
        if args.work_dir is not None:
            result = run_plan(plan, args.work_dir / f"seed-{plan.seed}")
        else:
            with tempfile.TemporaryDirectory(prefix=f"chaos-{plan.seed}-") as tmp:
                result = run_plan(plan, Path(tmp))
        if result.error:
            print(f"seed {plan.seed}: RUN FAILED: {result.error}", file=sys.stderr)
        for phase, paths in result.paths.items():
            print(f"seed {plan.seed}: {phase} paths: "
                  + ", ".join(f"{host} {path}" for host, path in paths.items()),
                  file=sys.stderr)
        for violation in result.violations:
            print(f"seed {plan.seed}: VIOLATION {violation.invariant}: {violation.detail}",
                  file=sys.stderr)
        print(f"seed {plan.seed}: {result.checks} checks, {len(result.violations)} "
              f"violations in {result.duration_s:.0f}s", file=sys.stderr)
        results.append(result)
    summary = summarize(results)
    print(json.dumps(summary, sort_keys=True))
    return 1 if summary["violations"] or summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
