"""The scheduler's web face: status page, JSON API, /health, /metrics, operator actions and
the artifacts the Mesos fetcher downloads.

The scheduler builds the app and serves it::

    from web import create_app, serve

    app = create_app(
        status,                  # StatusSource: status(), agent(id), events(agent_id, limit)
        control,                 # OperatorActions: pause/resume(by, why), retry/skip(id, by, why)
        token=operator_token,    # operator token for scripts; None: none
        dcos_users=verifier,     # DcosUsers: checks DC/OS users' tokens; None: no DC/OS login
        health=lambda: HealthReport(ok, reasons),
        metrics=lambda: {"calico_dcos_offers_received_total": n, ...},  # SCHEDULER_COUNTERS
        artifacts_dir=Path(...), # the installer .pyz and per-agent rendered config files
    )
    handle = serve(app, "0.0.0.0", port)   # handle.port, handle.url, handle.stop()

The documents these interfaces exchange are described in `web.contracts`; the HTTP API in
docs/status-api.md. Nothing here imports pymesos or etcd3.
"""

from web.app import create_app
from web.contracts import (
    ControlUnavailableError,
    DcosUsers,
    HealthReport,
    MetricsSource,
    NotApplicableError,
    OperatorActionError,
    OperatorActions,
    StatusSource,
    TokenRejectedError,
    UnknownAgentError,
    UserCheckError,
    UserCheckUnavailableError,
)
from web.metrics import SCHEDULER_COUNTERS
from web.server import ServerHandle, serve

__all__ = [
    "SCHEDULER_COUNTERS",
    "ControlUnavailableError",
    "DcosUsers",
    "HealthReport",
    "MetricsSource",
    "NotApplicableError",
    "OperatorActionError",
    "OperatorActions",
    "ServerHandle",
    "StatusSource",
    "TokenRejectedError",
    "UnknownAgentError",
    "UserCheckError",
    "UserCheckUnavailableError",
    "create_app",
    "serve",
]
