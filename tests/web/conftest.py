"""Fixtures for the web tests: a scripted rollout, an app built through the factory, and the
app served by waitress, directly or behind an Admin Router style prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.web.rollout import ScriptedRollout
from web import HealthReport, create_app, serve
from web.server import ServerHandle

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_WAIT_MS = 20_000
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
            metrics=lambda: {
                "calico_dcos_offers_received_total": 42, "calico_dcos_etcd_errors_total": 1
            },
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


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for every browser test of the session."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page that fails the test if any dialog opens or any script error happens."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(BROWSER_WAIT_MS)
    yield page
    context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert errors == [], f"script errors: {errors}"


def mark_document(page) -> None:
    """Tag the loaded document so a later check can tell it was never reloaded."""
    page.evaluate("window.__sameDocument = true")


def assert_same_document(page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


LOGIN_CHECK_MS = 20_000


def pause_as_dcos_user(page, url: str, cookie_url: str, token: str, user: str,
                       reason: str) -> None:
    """Log in as the DC/OS UI does (its cookie, which Admin Router turns into the
    Authorization header), open the page and pause with no operator token."""
    from tests.auth.adminrouter import COOKIE

    expect = pytest.importorskip("playwright.sync_api").expect
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": cookie_url}])
    page.goto(url)
    page.locator("#pause-button").click()
    # The scheduler checks the login with the IAM's keys: slower than the click under load.
    expect(page.locator("#action-who")).to_have_text(f"Acting as {user} (DC/OS login)",
                                                     timeout=LOGIN_CHECK_MS)
    expect(page.locator("#token-field")).to_be_hidden()
    page.fill("#action-reason", reason)
    page.click("#action-confirm")
    expect(page.locator("#rollout-state")).to_have_text("paused")
    expect(page.locator("#banner")).to_contain_text(f"Paused by {user}")
