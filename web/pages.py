"""The HTML pages: the rollout overview at `/` and one page per agent at `agents/<id>`.

Every link and asset URL is relative to the page (see `relative_root`), so the pages work
unchanged behind DC/OS Admin Router, which serves the app under `/service/<name>/` and strips
that prefix before forwarding.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from web.api import agent_detail, health_body, health_report
from web.context import get_context
from web.contracts import AGENT_STATES
from web.errors import ApiError
from web.query import BadQueryError, apply_query, parse_query
from web.view import summarize

bp = Blueprint("pages", __name__)

PAGE_SIZE = 50
OVERVIEW_EVENTS = 8
REFRESH_MS = 2000
REFRESH_CONFIG_KEY = "REFRESH_MS"  # app.config override of how often the page polls


def relative_root(path: str) -> str:
    """The relative URL of the app's root as seen from `path`: ``./`` or ``../`` etc."""
    return "../" * (path.count("/") - 1) or "./"


@bp.app_context_processor
def page_globals() -> dict[str, object]:
    refresh_ms = current_app.config.get(REFRESH_CONFIG_KEY, REFRESH_MS)
    return {"root": relative_root(request.path), "refresh_ms": refresh_ms,
            "actions": get_context().auth}


@bp.get("/")
def index() -> str:
    context = get_context()
    document = context.status.status()
    try:
        query = parse_query(request.args, default_limit=PAGE_SIZE)
    except BadQueryError as err:
        raise ApiError(400, str(err)) from None
    now = context.clock()
    listed = apply_query(document, query)
    return render_template(
        "index.html",
        doc=document,
        summary=summarize(document, now, health_body(health_report())),
        agents=listed["agents"],
        page=listed["page"],
        query=query,
        states=AGENT_STATES,
        events=context.status.events(limit=OVERVIEW_EVENTS),
        hostnames={agent.get("id"): agent.get("hostname") for agent in document.get("agents", ())},
        overview_events=OVERVIEW_EVENTS,
        now=now,
    )


@bp.get("/agents/<agent_id>")
def agent(agent_id: str) -> str:
    context = get_context()
    return render_template(
        "agent.html",
        doc=context.status.status(),
        agent=agent_detail(agent_id),
        now=context.clock(),
    )
