"""The Flask app factory: wires the scheduler's collaborators into the API, pages and artifacts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from operator_cli.wording import age, duration, last_message, network_text
from web import api, artifacts, pages, plans
from web.auth import Authenticator
from web.context import EXTENSION_KEY, WebContext
from web.contracts import DcosUsers, HealthCheck, MetricsSource, OperatorActions, StatusSource
from web.encoded import EncodedDocument
from web.errors import ApiError, WebConfigError

MAX_BODY_BYTES = 16 * 1024

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}


def create_app(
    status: StatusSource,
    control: OperatorActions,
    *,
    token: str | None,
    health: HealthCheck,
    metrics: MetricsSource,
    artifacts_dir: Path | None = None,
    clock: Callable[[], float] = time.time,
    dcos_users: DcosUsers | None = None,
) -> Flask:
    """A new app serving the status page, JSON API, /health, /metrics and /artifacts.

    `token` is the operator token and `dcos_users` checks DC/OS users' tokens; operator
    actions need one of them (see `web.auth`), with neither every action is refused.
    `clock` returns unix seconds and is only used to word ages and elapsed times.
    ``app.config["REFRESH_MS"]`` may override how often the page polls (default 2000).
    """
    if artifacts_dir is not None and not Path(artifacts_dir).is_dir():
        raise WebConfigError(f"artifacts directory {artifacts_dir} does not exist")
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # No slash-merging redirects: their absolute Location would drop Admin Router's prefix.
    app.url_map.merge_slashes = False
    app.json.sort_keys = False
    app.extensions[EXTENSION_KEY] = WebContext(
        status=status,
        control=control,
        auth=Authenticator(token or None, dcos_users),
        health=health,
        metrics=metrics,
        artifacts_dir=None if artifacts_dir is None else Path(artifacts_dir),
        clock=clock,
        encoded=EncodedDocument(app.json.dumps),
    )
    app.jinja_env.globals.update(age=age, duration=duration, last_message=last_message,
                                  network_text=network_text)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(artifacts.bp)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_secure)
    return app


def _error_response(status: int, message: str) -> Response | tuple[str, int]:
    if request.blueprint == "pages":
        return render_template("error.html", status=status, message=message), status
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="calico-dcos"'
    return response


def _api_error(err: ApiError) -> Response | tuple[str, int]:
    return _error_response(err.status, err.message)


def _http_error(err: HTTPException) -> Response | tuple[str, int]:
    response = _error_response(err.code or 500, err.description or err.name)
    allowed = getattr(err, "valid_methods", None)
    if allowed and isinstance(response, Response):
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.blueprint in ("api", "pages", "plans"):
        response.headers["Cache-Control"] = "no-store"
    return response
