"""The scheduler-supplied collaborators of one app instance, reachable from request handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from web.auth import Authenticator
from web.contracts import HealthCheck, MetricsSource, OperatorActions, StatusSource
from web.encoded import EncodedDocument

EXTENSION_KEY = "calico_dcos"


@dataclass(frozen=True)
class WebContext:
    status: StatusSource
    control: OperatorActions
    auth: Authenticator
    health: HealthCheck
    metrics: MetricsSource
    artifacts_dir: Path | None
    clock: Callable[[], float]
    encoded: EncodedDocument  # the whole status document's JSON, once per document


def get_context() -> WebContext:
    return current_app.extensions[EXTENSION_KEY]
