"""`python -m devcluster`: a local Mesos-compatible cluster for tests and the demo.

    python -m devcluster [--agents N] [--public-agents M] ...   etcd + master + scheduler
    python -m devcluster master --agents N ...                  master emulator and agents
    python -m devcluster host --root DIR ...                    one standalone simulated host

`--platform 1.10|1.13` picks the DC/OS release emulated: the Mesos the master answers as
and the Docker the hosts run (default: 1.13, the newest emulated; `--mesos-version` and
`--docker-version` override one of them; see docs/devcluster.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from devcluster.cluster import ClusterOptions, LocalCluster
from devcluster.master_records import MasterOptions
from devcluster.platforms import DEFAULT_PLATFORM, PLATFORMS, on_platform
from devcluster.versions import VERSIONS

EXIT_FAILED = 1
EXIT_TIMEOUT = 3


def _cluster_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=4, help="private agents")
    parser.add_argument("--public-agents", type=int, default=0, help="public agents")
    parser.add_argument("--hostnames", default="",
                        help="comma-separated host names for the agents, in order")
    parser.add_argument("--events", type=Path, help="write every host action here (JSON lines)")
    parser.add_argument("--work-dir", type=Path,
                        help="where hosts, sandboxes and logs live (default: a new temp dir)")
    parser.add_argument("--platform", choices=sorted(PLATFORMS), default=DEFAULT_PLATFORM,
                        help="the DC/OS release emulated: its Mesos and its Docker "
                             f"(default {DEFAULT_PLATFORM})")
    parser.add_argument("--docker-version",
                        help="the Docker the hosts run (default: the platform's)")
    parser.add_argument("--agent-restart-seconds", type=float, default=1.0)
    parser.add_argument("--docker-restart-seconds", type=float, default=0.5)
    parser.add_argument("--heartbeat-seconds", type=float, default=15.0)
    parser.add_argument("--mesos-version", choices=sorted(VERSIONS),
                        help="the Mesos the master answers as (default: the platform's)")


def _cluster_options(args: argparse.Namespace, port: int = 0,
                     problems: tuple[str, ...] = ()) -> ClusterOptions:
    problems = list(problems)
    if args.agents < 0 or args.public_agents < 0 or args.agents + args.public_agents < 1:
        problems.append("need at least one agent (--agents/--public-agents >= 0)")
    if problems:
        raise SystemExit("devcluster: " + "; ".join(problems))
    hostnames = tuple(h for h in args.hostnames.split(",") if h) if args.hostnames else ()
    options = on_platform(ClusterOptions(
        agents=args.agents, public_agents=args.public_agents, hostnames=hostnames,
        docker_restart_s=args.docker_restart_seconds,
        agent_restart_s=args.agent_restart_seconds, port=port,
        events_file=args.events.resolve() if args.events else None,
        master=MasterOptions(heartbeat_interval_s=args.heartbeat_seconds),
    ), args.platform)
    if args.docker_version:
        options = dataclasses.replace(options, docker_version=args.docker_version)
    if args.mesos_version:
        options = dataclasses.replace(
            options, master=dataclasses.replace(options.master, version=args.mesos_version))
    return options


def _work_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        return args.work_dir.resolve(), False
    return Path(tempfile.mkdtemp(prefix="calico-devcluster-")), True


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


def run_master(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster master")
    _cluster_args(parser)
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    work_dir, temporary = _work_dir(args)
    cluster = LocalCluster(work_dir, _cluster_options(args, args.port)).start()
    print(f"master: {cluster.url} (Mesos {cluster.master.mesos.version})", flush=True)
    print(f"work dir: {work_dir}", flush=True)
    try:
        _wait_for_interrupt()
    finally:
        cluster.stop()
        if temporary:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0


def run_stack(argv: list[str]) -> int:
    from devcluster.stack import DevStack, StackError, StackOptions

    parser = argparse.ArgumentParser(prog="python -m devcluster",
                                     description=__doc__.splitlines()[0])
    _cluster_args(parser)
    parser.add_argument("--max-concurrent-restarts", type=int, default=1)
    parser.add_argument("--exit-on-complete", action="store_true",
                        help="exit 0 once the rollout completes, 1 if it halts")
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="with --exit-on-complete: give up after this many seconds (exit 3)")
    parser.add_argument("--workloads", type=int, default=0, metavar="N",
                        help="run N Mesos command tasks and N Docker containers of another "
                             "framework on every agent; --events logs each one lost")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--shared-network", action="store_true",
                        help="keep the hosts in this machine's network even as root (what a "
                             "run without root does: no per-agent etcd proxy)")
    args = parser.parse_args(argv)
    work_dir, temporary = _work_dir(args)
    problems = ("--workloads must be >= 0",) if args.workloads < 0 else ()
    options = StackOptions(cluster=_cluster_options(args, problems=problems),
                           max_concurrent_restarts=args.max_concurrent_restarts,
                           workloads_per_agent=args.workloads,
                           host_netns=False if args.shared_network else None)
    stack = DevStack(work_dir, options)
    try:
        stack.start()
        if not stack.isolated:
            print("note: the simulated hosts share this machine's network (no root, or "
                  "--shared-network): the per-agent etcd proxy is off and agents use etcd "
                  "directly, and no verify step runs (see devcluster/README.md)", flush=True)
        print(f"master: {stack.cluster.url} (Mesos {stack.cluster.master.mesos.version})",
              flush=True)
        print(f"docker: {stack.cluster.options.docker_version} on every host", flush=True)
        print(f"etcd: {stack.etcd.endpoint}", flush=True)
        print(f"status: {stack.status_url}", flush=True)
        print(f"operator token: {options.operator_token}", flush=True)
        print(f"scheduler log: {stack.scheduler_log}", flush=True)
        if not args.exit_on_complete:
            _wait_for_interrupt()
            return 0
        try:
            status = stack.wait_status(
                lambda s: s["rollout"]["state"] in ("complete", "halted"),
                deadline_s=args.timeout or float("inf"))
        except StackError as err:
            print(f"devcluster: {err}", file=sys.stderr)
            return EXIT_TIMEOUT
        counts = status["rollout"]["counts"]
        print(f"rollout {status['rollout']['state']}: {counts['complete']} of "
              f"{counts['total']} agents complete", flush=True)
        verified = [a["network"]["ip"] for a in status["agents"]
                    if (a.get("network") or {}).get("state") == "verified"]
        if any(a.get("network") for a in status["agents"]):
            print(f"network verified on {len(verified)} of {len(status['agents'])} agents: "
                  f"{', '.join(verified)}", flush=True)
        if stack.workloads is not None:
            workloads = stack.workloads.counts()
            print(f"workloads: {workloads['running']} of {workloads['workloads']} running, "
                  f"{workloads['lost']} lost", flush=True)
        return 0 if status["rollout"]["state"] == "complete" else EXIT_FAILED
    finally:
        stack.stop()
        if temporary and not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if argv[:1] == ["master"]:
        return run_master(argv[1:])
    if argv[:1] == ["host"]:
        from devcluster.host.cli import main as host_main

        return host_main(argv[1:])
    return run_stack(argv)


if __name__ == "__main__":
    sys.exit(main())
