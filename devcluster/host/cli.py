"""`python -m devcluster host`: prepare one standalone simulated host, print its environment.

    eval "$(python -m devcluster host --root /tmp/agent1 --docker-version 19.03.15)"
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from devcluster.host.errors import HostError
from devcluster.host.prepare import prepare_host
from devcluster.host.spec import (
    DEFAULT_AGENT_RESTART_S,
    DEFAULT_DOCKER_RESTART_S,
    DEFAULT_DOCKER_VERSION,
    HostSpec,
)

DEFAULT_HOSTNAME = "devcluster-host"
DEFAULT_IP = "127.0.1.1"
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devcluster host",
        description="Prepare a standalone simulated DC/OS agent host directory and print the "
                    "shell exports (PATH, CALICO_HOST_ROOT) that make its stand-ins the "
                    "systemctl and docker a command finds.")
    parser.add_argument("--root", required=True, type=Path, help="directory standing for /")
    parser.add_argument("--docker-version", default=DEFAULT_DOCKER_VERSION)
    parser.add_argument("--public", action="store_true", help="a public agent "
                        "(unit dcos-mesos-slave-public)")
    parser.add_argument("--hostname", default=DEFAULT_HOSTNAME)
    parser.add_argument("--ip", default=DEFAULT_IP, help="the host's own (loopback) address")
    parser.add_argument("--agent-id", help="Mesos agent id (default: <hostname>-S0)")
    parser.add_argument("--events", type=Path, help="append unit actions to this JSON-lines file")
    parser.add_argument("--docker-restart-s", type=float, default=DEFAULT_DOCKER_RESTART_S)
    parser.add_argument("--agent-restart-s", type=float, default=DEFAULT_AGENT_RESTART_S)
    parser.add_argument("--daemon-json", type=Path,
                        help="file whose bytes become the initial /etc/docker/daemon.json")
    parser.add_argument("--docker-flag", action="append", default=[],
                        help="extra dockerd argument on the unit's ExecStart, given as "
                             "--docker-flag=--name=value (repeatable)")
    return parser


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        daemon_json = None if args.daemon_json is None else args.daemon_json.read_text()
        spec = HostSpec(
            agent_id=args.agent_id or f"{args.hostname}-S0",
            hostname=args.hostname,
            ip=args.ip,
            public=args.public,
            docker_version=args.docker_version,
            events_file=None if args.events is None else args.events.absolute(),
            docker_restart_s=args.docker_restart_s,
            agent_restart_s=args.agent_restart_s,
            docker_flags=tuple(args.docker_flag),
            daemon_json=daemon_json,
        )
        environment = prepare_host(args.root, spec)
    except (HostError, OSError, UnicodeDecodeError) as exc:
        print(f"devcluster host: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for name, value in environment.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0
