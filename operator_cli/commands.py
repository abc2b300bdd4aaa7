"""The commands, shared by `python -m framework <command> --url URL` and `dcos calico`.

Exit codes: 0 done, 1 the scheduler refused the request, 2 bad usage, 3 scheduler
unreachable. Secrets never go on the command line, where `ps` shows them: the operator
token comes from $CALICO_OPERATOR_TOKEN or --token-file, a DC/OS token from the DC/OS
CLI (or $DCOS_ACS_TOKEN, --dcos-token-file).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from operator_cli.api import EXIT_OK, EXIT_USAGE, Api, CliError
from operator_cli.render import printable, render_agent, render_plan, render_status

TOKEN_ENV = "CALICO_OPERATOR_TOKEN"
DCOS_TOKEN_ENV = "DCOS_ACS_TOKEN"
ACTIONS = ("pause", "resume", "retry", "skip")
AGENT_ACTIONS = ("retry", "skip")
COMMANDS = ("status", "plan", *ACTIONS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command and its options, the same for both front ends."""
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("agent_id", nargs="?", help="agent id (status: show that agent)")
    parser.add_argument("--reason", help="why, recorded in the event log")
    parser.add_argument("--state", help="status, plan: only agents in this state")
    parser.add_argument("--q", default="", help="status, plan: only host names containing this")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    parser.add_argument("--token-file", type=Path,
                        help=f"file holding the operator token (default: ${TOKEN_ENV})")


def read_secret(path: Path | None, environ: Mapping[str, str], name: str) -> str | None:
    """A secret from a file (first line) or, without one, from the environment."""
    if path is None:
        return environ.get(name) or None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"cannot read {path}: {err}", EXIT_USAGE) from None
    if not text:
        raise CliError(f"{path} is empty", EXIT_USAGE)
    return text


def _who() -> str | None:
    """The local user, to label a shared operator token in the event log."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def run(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    """Carry out one command against the scheduler's API."""
    if args.command in ("status", "plan"):
        _show(args, api, out)
        return
    if args.command in AGENT_ACTIONS and not args.agent_id:
        raise CliError(f"{args.command} needs an agent id", EXIT_USAGE)
    if args.command not in AGENT_ACTIONS and args.agent_id:
        raise CliError(f"{args.command} applies to the whole rollout, not to one agent", EXIT_USAGE)
    if not api.token and not api.dcos_token:
        raise CliError(f"not authenticated: log in to DC/OS, or give the operator token in "
                       f"${TOKEN_ENV} or --token-file", EXIT_USAGE)
    if args.agent_id:
        path = f"v1/agents/{urllib.parse.quote(args.agent_id, safe='')}/{args.command}"
    else:
        path = f"v1/rollout/{args.command}"
    body: dict[str, Any] = {"reason": args.reason or f"{args.command} from the command line"}
    if api.token and _who():  # a shared token: say which of its holders acted
        body["by"] = _who()
    answer = api.call("POST", api.url(path), body)
    if args.json:
        print(json.dumps(answer, indent=2), file=out)
        return
    target = f" agent {printable(args.agent_id)}" if args.agent_id else ""
    state = printable(answer.get("rollout", {}).get("state", "?")).replace("_", " ")
    print(f"{args.command}{target}: accepted; rollout is {state}", file=out)


def _show(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    if args.agent_id:
        if args.command == "plan":
            raise CliError("plan shows every agent: filter with --state or --q", EXIT_USAGE)
        answer = api.call("GET", api.url("v1/agents/" + urllib.parse.quote(args.agent_id,
                                                                           safe="")))
    else:
        answer = api.call("GET", api.url("v1/status", {"state": args.state or "", "q": args.q}))
    if args.json:
        print(json.dumps(answer, indent=2), file=out)
    elif args.agent_id:
        print(render_agent(answer, time.time()), file=out)
    elif args.command == "plan":
        print(render_plan(answer, time.time()), file=out)
    else:
        print(render_status(answer, time.time()), file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m framework", description="Show or steer a running calico-dcos rollout.",
        allow_abbrev=False)
    add_arguments(parser)
    parser.add_argument("--url", required=True, help="the scheduler's URL, e.g. http://host:port/ "
                        "or <DC/OS URL>/service/calico/")
    parser.add_argument("--dcos-token-file", type=Path,
                        help=f"file holding a DC/OS token, for a --url through Admin Router "
                             f"(default: ${DCOS_TOKEN_ENV})")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    environ = os.environ if environ is None else environ
    try:
        api = Api(args.url, read_secret(args.token_file, environ, TOKEN_ENV),
                  read_secret(args.dcos_token_file, environ, DCOS_TOKEN_ENV))
        run(args, api, sys.stdout)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return EXIT_OK
