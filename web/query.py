"""Filtering and paging of the status document's agent list (`?state=`, `?q=`, `?limit=`,
`?offset=`), shared by the JSON API and the HTML page so both show the same rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web.contracts import AGENT_STATES, Document

MAX_LIMIT = 10_000
MAX_QUERY_LENGTH = 200
QUERY_PARAMS = ("state", "q", "limit", "offset")


class BadQueryError(ValueError):
    """A query parameter is malformed; the message says which and why."""


@dataclass(frozen=True)
class AgentQuery:
    """Which agents to list: an optional state, a host name substring and a window."""

    state: str | None = None
    text: str = ""
    offset: int = 0
    limit: int | None = None

    @property
    def is_filtered(self) -> bool:
        return bool(self.state or self.text or self.offset or self.limit is not None)


def _int_param(args: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadQueryError(f"{name} must be an integer, got {raw[:40]!r}") from None
    if value < minimum or value > MAX_LIMIT * 100:
        raise BadQueryError(f"{name} must be between {minimum} and {MAX_LIMIT * 100}")
    return value


def parse_query(args: Mapping[str, str], default_limit: int | None = None) -> AgentQuery:
    """Build an `AgentQuery` from request arguments, rejecting anything malformed."""
    state = args.get("state") or None
    if state is not None and state not in AGENT_STATES:
        raise BadQueryError(f"state must be one of {', '.join(AGENT_STATES)}")
    text = args.get("q", "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise BadQueryError(f"q must be at most {MAX_QUERY_LENGTH} characters")
    limit = _int_param(args, "limit", 1)
    if limit is not None and limit > MAX_LIMIT:
        raise BadQueryError(f"limit must be between 1 and {MAX_LIMIT}")
    offset = _int_param(args, "offset", 0) or 0
    return AgentQuery(state, text, offset, limit if limit is not None else default_limit)


def matches(agent: Mapping[str, Any], query: AgentQuery) -> bool:
    if query.state is not None and agent.get("state") != query.state:
        return False
    return not query.text or query.text.casefold() in str(agent.get("hostname", "")).casefold()


def apply_query(document: Document, query: AgentQuery) -> dict[str, Any]:
    """A shallow copy of `document` listing only the requested page of agents, plus `page`.

    `rollout.counts` is left alone: it always describes the whole cluster. `page.slot_holders`
    maps the restart-slot holders' ids to host names, since they may not be on this page.
    """
    agents = document.get("agents", ())
    selected = [agent for agent in agents if matches(agent, query)]
    end = None if query.limit is None else query.offset + query.limit
    holders = set((document.get("rollout", {}).get("budget") or {}).get("holders", ()))
    result = dict(document)
    result["agents"] = selected[query.offset : end]
    result["page"] = {
        "total": len(selected),
        "offset": query.offset,
        "limit": query.limit,
        "slot_holders": {a.get("id"): a.get("hostname") for a in agents if a.get("id") in holders},
    }
    return result
