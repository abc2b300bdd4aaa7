"""`python -m framework status|pause|resume|retry|skip --url URL`: the status page for terminals
and scripts, talking to a running scheduler's JSON API with nothing but urllib.

Exit codes: 0 done, 1 the scheduler refused the request, 2 bad usage, 3 scheduler unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from web.view import age, duration, last_message

TOKEN_ENV = "CALICO_OPERATOR_TOKEN"
TIMEOUT_S = 15.0
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
MAX_CELL = 60
ACTIONS = ("pause", "resume", "retry", "skip")
AGENT_ACTIONS = ("retry", "skip")


class CliError(Exception):
    """A failure to report on stderr with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Api:
    """The scheduler's JSON API at `base` (which may include an Admin Router prefix)."""

    base: str
    token: str | None = None
    dcos_token: str | None = None
    timeout: float = TIMEOUT_S

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        base = self.base if self.base.endswith("/") else self.base + "/"
        encoded = urllib.parse.urlencode({k: v for k, v in (query or {}).items() if v})
        return urllib.parse.urljoin(base, path) + (f"?{encoded}" if encoded else "")

    def call(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["X-Operator-Token"] = self.token
        if self.dcos_token:  # for DC/OS Admin Router in front of /service/<name>/
            headers["Authorization"] = f"token={self.dcos_token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            raise CliError(f"{err.code}: {_error_text(err)}", EXIT_REFUSED) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise CliError(f"cannot reach {url}: {reason}", EXIT_UNREACHABLE) from None
        except json.JSONDecodeError:
            raise CliError(f"{url} did not answer with JSON", EXIT_UNREACHABLE) from None


def _error_text(err: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(err)["error"])
    except (ValueError, KeyError, TypeError):
        return err.reason or "request failed"


def printable(value: object) -> str:
    """`value` as one terminal-safe line: control characters (escape sequences, newlines)
    from cluster data are shown escaped instead of being interpreted by the terminal."""
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _cell(value: object) -> str:
    text = printable(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _steps_text(agent: Mapping[str, Any]) -> str:
    parts = []
    for step in agent.get("steps", ()):
        attempts = step.get("attempts") or 0
        suffix = f"×{attempts}" if attempts > 1 else ""
        parts.append(f"{step.get('name')}:{step.get('state')}{suffix}")
    return " ".join(parts)


def render_status(document: Mapping[str, Any], now: float) -> str:
    rollout = document.get("rollout", {})
    counts = rollout.get("counts", {})
    budget = rollout.get("budget") or {}
    control = rollout.get("control") or {}
    framework = document.get("framework", {})
    names = {a.get("id"): a.get("hostname") for a in document.get("agents", ())}
    holders = ", ".join(printable(names.get(h) or h) for h in budget.get("holders", ()))
    started = rollout.get("started_at")
    elapsed = None if started is None else (rollout.get("completed_at") or now) - started
    state = printable(rollout.get("state", "?")).replace("_", " ")
    lines = [
        f"{printable(framework.get('name', 'calico'))}: {state}, "
        f"{counts.get('complete', 0)} of {counts.get('total', 0)} agents complete",
        f"in progress {counts.get('in_progress', 0)} · pending {counts.get('pending', 0)} · "
        f"failed {counts.get('failed', 0)} · gone {rollout.get('gone', 0)} · restart slots "
        f"{budget.get('in_use', 0)} of {budget.get('max_concurrent_restarts', '?')}"
        + (f" ({holders})" if holders else ""),
        f"elapsed {duration(elapsed)} · ETA {duration(rollout.get('eta_s'))}",
    ]
    if control.get("paused"):
        lines.append(
            f"paused by {printable(control.get('by'))} {age(control.get('at'), now)}: "
            f"{printable(control.get('why'))}"
        )
    elif rollout.get("reason"):
        lines.append(printable(rollout["reason"]))
    rows = []
    for agent in document.get("agents", ()):
        last = last_message(agent)
        rows.append(
            [
                _cell(agent.get("hostname")),
                _cell(agent.get("id")),
                _cell(agent.get("role")),
                _cell(str(agent.get("state", "")).replace("_", " ")),
                _cell(_steps_text(agent)),
                _cell(f"{last.text} ({age(last.at, now)})" if last else ""),
                _cell(agent.get("waiting_reason")),
            ]
        )
    headers = ["HOST", "AGENT", "ROLE", "STATE", "STEPS", "LAST MESSAGE", "WAITING FOR"]
    page = document.get("page")
    footer = []
    if page and page.get("total", 0) > len(rows):
        footer = [f"showing {len(rows)} of {page['total']} matching agents"]
    return "\n".join([*lines, "", table(headers, rows), *footer])


def render_agent(agent: Mapping[str, Any], now: float) -> str:
    lines = [
        f"{printable(agent.get('hostname'))}  {printable(agent.get('id'))}  "
        f"{printable(agent.get('role'))}  {printable(agent.get('state')).replace('_', ' ')}",
    ]
    if agent.get("waiting_reason"):
        lines.append(f"waiting for: {printable(agent['waiting_reason'])}")
    rows = []
    for step in agent.get("steps", ()):
        history = step.get("history") or [
            {"task_id": step.get("task_id"), "state": step.get("state"),
             "attempt": step.get("attempts"), "message": step.get("message"),
             "updated_at": step.get("updated_at")}
        ]
        for task in history:
            rows.append(
                [
                    _cell(step.get("name")),
                    _cell(task.get("task_id") or "-"),
                    _cell(task.get("state")),
                    _cell(task.get("attempt")),
                    _cell(task.get("message")),
                    age(task.get("updated_at"), now),
                ]
            )
    lines += ["", table(["STEP", "TASK", "STATE", "ATTEMPT", "MESSAGE", "UPDATED"], rows)]
    events = agent.get("events") or []
    if events:
        lines += ["", "recent events:"]
        lines += [
            f"  {age(e.get('at'), now)}  {printable(e.get('kind'))}  {printable(e.get('message'))}"
            for e in events
        ]
    return "\n".join(lines)


def _who() -> str | None:
    """The local user, to label a shared operator token in the event log."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m framework", description="Show or steer a running calico-dcos rollout."
    )
    parser.add_argument("command", choices=("status", *ACTIONS))
    parser.add_argument("agent_id", nargs="?", help="agent id (status: show that agent)")
    parser.add_argument("--url", required=True, help="the scheduler's URL, e.g. http://host:port/")
    parser.add_argument("--token", help=f"operator token (default: ${TOKEN_ENV})")
    parser.add_argument(
        "--dcos-token", help="DC/OS authentication token, when --url goes through Admin Router"
    )
    parser.add_argument("--reason", help="why, recorded in the event log")
    parser.add_argument("--state", help="status: only agents in this state")
    parser.add_argument("--q", default="", help="status: only host names containing this")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    return parser


def run(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> None:
    token = args.token or environ.get(TOKEN_ENV) or None
    api = Api(args.url, token, args.dcos_token)
    if args.command == "status":
        if args.agent_id:
            path = "v1/agents/" + urllib.parse.quote(args.agent_id, safe="")
            answer = api.call("GET", api.url(path))
        else:
            query = {"state": args.state or "", "q": args.q}
            answer = api.call("GET", api.url("v1/status", query))
        if args.json:
            print(json.dumps(answer, indent=2), file=out)
        elif args.agent_id:
            print(render_agent(answer, time.time()), file=out)
        else:
            print(render_status(answer, time.time()), file=out)
        return
    if args.command in AGENT_ACTIONS and not args.agent_id:
        raise CliError(f"{args.command} needs an agent id", EXIT_USAGE)
    if args.command not in AGENT_ACTIONS and args.agent_id:
        raise CliError(f"{args.command} applies to the whole rollout, not to one agent", EXIT_USAGE)
    if not token:
        raise CliError(f"no operator token: pass --token or set ${TOKEN_ENV}", EXIT_USAGE)
    if args.agent_id:
        path = f"v1/agents/{urllib.parse.quote(args.agent_id, safe='')}/{args.command}"
    else:
        path = f"v1/rollout/{args.command}"
    reason = args.reason or f"{args.command} requested from the command line"
    body = {"reason": reason}
    if _who():
        body["by"] = _who()
    answer = api.call("POST", api.url(path), body)
    if args.json:
        print(json.dumps(answer, indent=2), file=out)
        return
    target = f" agent {printable(args.agent_id)}" if args.agent_id else ""
    state = printable(answer.get("rollout", {}).get("state", "?")).replace("_", " ")
    print(f"{args.command}{target}: accepted; rollout is {state}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        run(args, os.environ, sys.stdout)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return EXIT_OK
