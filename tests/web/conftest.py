"""Fixtures for the web tests: a scripted rollout, an app built through the factory, and the
app served by waitress, directly or behind an Admin Router style prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.web.rollout import ScriptedRollout
from web import HealthReport, create_app, scheduler_counters, serve
from web.server import ServerHandle

TOKEN = "s3cret-operator-token"
HOSTILE_HOST = "<img src=x onerror=alert(1)>"
HOSTNAMES = ("a1.example", "a2.example", "a3.example", HOSTILE_HOST, "p1.example")
ADMIN_ROUTER_PREFIX = "/service/calico"


class PrefixStripper:
    """What DC/OS Admin Router does for `/service/<name>/`: forward only requests under the
    prefix, with the prefix removed from the path the app sees; anything else is a 404."""

    def __init__(self, app: Flask, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    def __call__(self, environ: dict, start_response: Callable) -> object:
        path = environ.get("PATH_INFO", "")
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not under the service prefix"]
        environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
        return self.app(environ, start_response)


class Health:
    """A switchable health probe."""

    def __init__(self) -> None:
        self.report = HealthReport(ok=True)

    def __call__(self) -> HealthReport:
        return self.report


@pytest.fixture
def rollout() -> ScriptedRollout:
    return ScriptedRollout(HOSTNAMES)


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    (root / "agents" / "S0").mkdir(parents=True)
    (root / "calico-installer.pyz").write_bytes(b"PK\x03\x04installer")
    (root / "agents" / "S0" / "10-calico.conflist").write_text('{"name": "calico"}')
    (tmp_path / "secret.txt").write_text("outside the artifacts dir")
    return root


@pytest.fixture
def make_app(
    rollout: ScriptedRollout, health: Health, artifacts_dir: Path
) -> Callable[..., Flask]:
    def build(token: str | None = TOKEN, refresh_ms: int | None = None) -> Flask:
        app = create_app(
            rollout,
            rollout,
            token=token,
            health=health,
            metrics=lambda: scheduler_counters(
                {"calico_dcos_offers_received_total": 42, "calico_dcos_etcd_errors_total": 1}
            ),
            artifacts_dir=artifacts_dir,
            clock=lambda: rollout.status()["generated_at"],
        )
        if refresh_ms is not None:
            app.config["REFRESH_MS"] = refresh_ms
        return app

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def served(app: Flask) -> Iterator[ServerHandle]:
    handle = serve(app)
    yield handle
    handle.stop()


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
