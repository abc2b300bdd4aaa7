"""JSON API: status, agent detail, events, health, metrics and operator actions."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.wsgi import wrap_file

from web.auth import DISABLED, OPERATOR_HEADER, Operator
from web.context import get_context
from web.contracts import (
    ControlUnavailableError,
    Document,
    HealthReport,
    NotApplicableError,
    OperatorActionError,
    UnknownAgentError,
)
from web.errors import ApiError
from web.metrics import exposition
from web.query import BadQueryError, apply_query, parse_query

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_REASON_LENGTH = 500
MAX_BY_LENGTH = 100
AGENT_EVENTS = 50
DEFAULT_EVENTS = 100
MAX_EVENTS = 1000
HEALTH_FAILED = 503

_CONTROL_STATUS: Mapping[type[OperatorActionError], int] = {
    UnknownAgentError: 404,
    NotApplicableError: 409,
    ControlUnavailableError: 503,
}


def validate_agent_id(agent_id: str) -> str:
    if not AGENT_ID.fullmatch(agent_id):
        raise ApiError(400, "malformed agent id: expected letters, digits, '.', '_' or '-'")
    return agent_id


def agent_detail(agent_id: str) -> Document:
    """The agent's status entry with its recent events; 404 when unknown."""
    context = get_context()
    agent = context.status.agent(validate_agent_id(agent_id))
    if agent is None:
        raise ApiError(404, f"no agent with id {agent_id}")
    detail = dict(agent)
    detail["events"] = list(context.status.events(agent_id=agent_id, limit=AGENT_EVENTS))
    return detail


def health_report() -> HealthReport:
    """The scheduler's health, now; a probe that raises reports neither ready nor live."""
    try:
        report = get_context().health()
        if not isinstance(report, HealthReport):
            raise TypeError(f"the probe answered {report!r}")
        return report
    except Exception as err:  # a broken probe means unhealthy, not a 500
        log.exception("health check raised")
        reason = f"health check failed: {err}"
        return HealthReport(False, (reason,), live=False, live_reason=reason)


def health_body(report: HealthReport) -> dict[str, Any]:
    return {"ok": report.ok, "reasons": list(report.reasons), "ready": report.ok,
            "live": report.live, "live_reason": report.live_reason}


@bp.get("/v1/status")
def status() -> Response:
    document = get_context().status.status()
    try:
        query = parse_query(request.args)
    except BadQueryError as err:
        raise ApiError(400, str(err)) from None
    health = health_body(health_report())  # live, not from the published snapshot
    if query.is_filtered:
        return jsonify({**apply_query(document, query), "health": health})
    body = get_context().encoded.with_field(document, "health", health)
    return Response(wrap_file(request.environ, body), mimetype="application/json",
                    headers={"Content-Length": str(len(body))}, direct_passthrough=True)


@bp.get("/v1/agents/<agent_id>")
def agent(agent_id: str) -> Response:
    return jsonify(agent_detail(agent_id))


@bp.get("/v1/events")
def events() -> Response:
    raw_limit = request.args.get("limit", str(DEFAULT_EVENTS))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_EVENTS:
        raise ApiError(400, f"limit must be an integer between 1 and {MAX_EVENTS}")
    agent_id = request.args.get("agent") or None
    if agent_id is not None:
        validate_agent_id(agent_id)
    found = get_context().status.events(agent_id=agent_id, limit=int(raw_limit))
    return jsonify({"events": list(found)})


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Readiness: 503 with the reasons while not leading, not subscribed or without etcd."""
    report = health_report()
    return jsonify(health_body(report)), 200 if report.ok else HEALTH_FAILED


@bp.get("/health/live")
def live() -> tuple[Response, int]:
    """Liveness, for Marathon's health check: 503 only when a restart would help."""
    report = health_report()
    body = {"live": report.live, "reason": report.live_reason}
    return jsonify(body), 200 if report.live else HEALTH_FAILED


@bp.get("/metrics")
def metrics() -> Response:
    context = get_context()
    body, content_type = exposition(context.status.status, context.metrics,
                                    request.headers.get("Accept"))
    return Response(body, content_type=content_type)


def _text_field(body: Mapping[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"'{name}' must be a non-empty string")
    normalized = " ".join(value.split())
    if len(normalized) > limit:
        raise ApiError(400, f"'{name}' must be at most {limit} characters")
    return normalized


def _action_body(operator: Operator) -> tuple[str, str]:
    """(by, why) from a JSON body ``{"reason": "...", "by": "..."}``.

    `by` is the authenticated operator; the body's optional `by` only labels it (who holds
    the shared operator token, say): ``operator token (alice)``. Only a JSON body is taken
    (Flask's `get_json` needs ``Content-Type: application/json``), which a cross-site form
    cannot send without the browser asking first (CORS preflight), so a DC/OS login cookie
    cannot be abused by another site.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object like {"reason": "why"}')
    unknown = sorted(set(body) - {"reason", "by"})
    if unknown:
        raise ApiError(400, f"unknown fields in body: {', '.join(map(str, unknown))}")
    why = _text_field(body, "reason", MAX_REASON_LENGTH, required=True)
    label = _text_field(body, "by", MAX_BY_LENGTH, required=False)
    by = operator.name if label in (None, operator.name) else f"{operator.name} ({label})"
    return by, why or ""


def _operator() -> Operator:
    return get_context().auth.operator(
        request.headers.get("Authorization"), request.headers.get(OPERATOR_HEADER))


def _perform(action: str, agent_id: str | None) -> Response:
    context = get_context()
    operator = _operator()
    if agent_id is not None:
        validate_agent_id(agent_id)
    by, why = _action_body(operator)
    try:
        if agent_id is None:
            getattr(context.control, action)(by, why)
        else:
            getattr(context.control, action)(agent_id, by, why)
    except OperatorActionError as err:
        status_code = next(
            (code for kind, code in _CONTROL_STATUS.items() if isinstance(err, kind)), 409
        )
        raise ApiError(status_code, str(err) or f"{action} refused") from None
    target = f" agent {agent_id}" if agent_id else ""
    log.info("operator action %s%s by %s: %s", action, target, by, why)
    rollout = context.status.status().get("rollout", {})
    return jsonify({"ok": True, "action": action, "agent_id": agent_id, "rollout": rollout})


@bp.get("/v1/operator")
def operator() -> Response:
    """Who this request would act as, and how operator actions can be authenticated."""
    auth = get_context().auth
    body: dict[str, Any] = {"actions_enabled": auth.enabled, "operator_token": bool(auth.token),
                            "dcos_login": auth.dcos_users is not None, "operator": None,
                            "via": None, "problem": None if auth.enabled else DISABLED}
    presented = request.headers.get("Authorization") or request.headers.get(OPERATOR_HEADER)
    if auth.enabled and presented is not None:
        try:
            who = _operator()
            body.update(operator=who.name, via=who.via)
        except ApiError as err:
            body["problem"] = err.message
    return jsonify(body)


@bp.post("/v1/rollout/pause")
def pause() -> Response:
    return _perform("pause", None)


@bp.post("/v1/rollout/resume")
def resume() -> Response:
    return _perform("resume", None)


@bp.post("/v1/agents/<agent_id>/retry")
def retry(agent_id: str) -> Response:
    return _perform("retry", agent_id)


@bp.post("/v1/agents/<agent_id>/skip")
def skip(agent_id: str) -> Response:
    return _perform("skip", agent_id)
