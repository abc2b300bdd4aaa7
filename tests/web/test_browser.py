"""The status page in a real Chromium (Playwright), served by waitress, while a test thread
advances a scripted rollout: live updates, escaping, operator actions, Admin Router prefix."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from framework.dcos_users import DcosUserTokens
from tests.auth.adminrouter import AdminRouter
from tests.auth.iam import IamServer
from tests.web.conftest import (
    ADMIN_ROUTER_PREFIX,
    HOSTILE_HOST,
    HOSTNAMES,
    TOKEN,
    PrefixStripper,
    assert_same_document,
    mark_document,
    pause_as_dcos_user,
)
from tests.web.rollout import FixedStatus, ScriptedRollout
from web import HealthReport, create_app, serve

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_COPY = REPO / "out" / "screenshots" / "status-page.png"
REFRESH_MS = 200
STEP_INTERVAL_S = 0.05
SCRIPT_MESSAGE = "<script>window.__injected = 1</script>"


class Stepper:
    """A background thread that advances the rollout until a condition holds."""

    def __init__(self, rollout: ScriptedRollout) -> None:
        self.rollout = rollout
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run_until(self, done: Callable[[], bool]) -> None:
        self.join()
        self._stop.clear()

        def loop() -> None:
            while not done() and not self._stop.wait(STEP_INTERVAL_S):
                self.rollout.advance()

        self._thread = threading.Thread(target=loop, name="rollout-stepper", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("the rollout stepper did not reach its condition")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


@pytest.fixture
def live_rollout() -> ScriptedRollout:
    rollout = ScriptedRollout(HOSTNAMES, clock=time.time)
    rollout.say("a2.example", "etcd-proxy", SCRIPT_MESSAGE)
    return rollout


@pytest.fixture
def stepper(live_rollout: ScriptedRollout) -> Iterator[Stepper]:
    stepper = Stepper(live_rollout)
    yield stepper
    stepper.stop()


def _serve(rollout: ScriptedRollout, prefix: str | None = None) -> Iterator[str]:
    app = create_app(
        rollout,
        rollout,
        token=TOKEN,
        health=lambda: HealthReport(ok=True),
        metrics=dict,
    )
    app.config["REFRESH_MS"] = REFRESH_MS
    handle = serve(PrefixStripper(app, prefix) if prefix else app)
    yield handle.url.rstrip("/") + (prefix or "") + "/"
    handle.stop()


@pytest.fixture
def url(live_rollout: ScriptedRollout) -> Iterator[str]:
    yield from _serve(live_rollout)


@pytest.fixture
def prefixed_url(live_rollout: ScriptedRollout) -> Iterator[str]:
    yield from _serve(live_rollout, ADMIN_ROUTER_PREFIX)


def _counts(rollout: ScriptedRollout) -> dict[str, int]:
    return rollout.status()["rollout"]["counts"]


def test_page_follows_the_rollout_live_to_5_of_5(page, url, live_rollout, stepper, tmp_path):
    page.goto(url)
    expect(page.locator("#agent-rows tr")).to_have_count(5)
    expect(page.locator("#headline")).to_have_text("0 of 5 agents complete")
    expect(page.locator("#unit-restarts")).to_have_text("0")
    mark_document(page)

    stepper.run_until(lambda: _counts(live_rollout)["complete"] == 2
                      and live_rollout.agents[2].steps[1].state == "running")
    stepper.join()
    expect(page.locator("#headline")).to_have_text("2 of 5 agents complete")
    expect(page.locator("#slot-holders")).to_have_text("a3.example")
    holder_row = page.locator("#agent-rows tr", has_text="a3.example")
    expect(holder_row.locator(".slot-mark")).to_be_visible()
    # Unit restarts done, per agent and in total: two disruptive steps on each finished agent.
    expect(page.locator("#unit-restarts")).to_have_text("4")
    expect(page.locator("#agent-rows tr", has_text="a1.example").locator(".restarts")).to_have_text(
        "2")
    expect(holder_row.locator(".restarts")).to_have_text("0")
    expect(page.locator("#agent-rows tr", has_text="p1.example").locator(".waiting")).to_have_text(
        "waiting for a restart slot"
    )
    screenshot = tmp_path / "status-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_COPY)

    stepper.run_until(lambda: live_rollout.complete)
    expect(page.locator("#headline")).to_have_text("5 of 5 agents complete")
    expect(page.locator("#rollout-state")).to_have_text("complete")
    expect(page.locator("#eta")).to_have_text("done")
    expect(page.locator("#agent-rows .badge.state-complete")).to_have_count(5)
    expect(page.locator("#unit-restarts")).to_have_text("10")
    assert_same_document(page)


def test_hostile_strings_render_as_text_and_run_nothing(page, url, live_rollout, stepper):
    page.goto(url)
    hostile_row = page.locator("#agent-rows tr", has_text=HOSTILE_HOST)
    expect(hostile_row.locator("td.host a")).to_have_text(HOSTILE_HOST)
    mark_document(page)
    stepper.run_until(lambda: live_rollout.agents[1].steps[0].state == "running")
    stepper.join()
    live_rollout.say("a2.example", "etcd-proxy", SCRIPT_MESSAGE)
    # After a live refresh (rendered by the script, not the server) the strings are still text.
    expect(page.locator("#agent-rows tr", has_text="a2.example").locator(".msg")).to_have_text(
        SCRIPT_MESSAGE
    )
    expect(hostile_row.locator("td.host a")).to_have_text(HOSTILE_HOST)
    assert page.locator("#agent-rows img, #agent-rows script").count() == 0
    assert page.evaluate("window.__injected === undefined")
    hostile_row.locator("td.host a").click()
    expect(page.locator("#agent-host")).to_have_text(HOSTILE_HOST)
    assert page.locator("main img, main script").count() == 0


def test_pause_and_resume_with_a_token_asked_once(page, url, live_rollout):
    page.goto(url)
    page.locator("#pause-button").click()
    expect(page.locator("#action-dialog")).to_be_visible()
    page.fill("#action-token", "not-the-token")
    page.fill("#action-reason", "maintenance window")
    page.click("#action-confirm")
    expect(page.locator("#action-error")).to_have_text("wrong operator token")
    assert not live_rollout.paused["paused"]

    page.fill("#action-token", TOKEN)
    page.click("#action-confirm")
    expect(page.locator("#action-dialog")).to_be_hidden()
    expect(page.locator("#rollout-state")).to_have_text("paused")
    expect(page.locator("#banner")).to_contain_text("Paused by operator token")
    expect(page.locator("#banner")).to_contain_text("maintenance window")
    expect(page.locator("#events li").first).to_have_text(
        re.compile(r"paused\s+rollout paused: maintenance window by operator token$")
    )
    assert live_rollout.paused["why"] == "maintenance window"

    page.locator("#resume-button").click()
    expect(page.locator("#token-field")).to_be_hidden()
    expect(page.locator("#action-who")).to_have_text("Acting with the operator token")
    page.fill("#action-reason", "window over")
    page.click("#action-confirm")
    expect(page.locator("#rollout-state")).to_have_text("in progress")
    expect(page.locator("#pause-button")).to_be_visible()
    expect(page.locator("#banner")).to_be_hidden()
    # The token lives in the page only: no storage another service on the origin could read.
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    page.reload()
    page.locator("#pause-button").click()
    expect(page.locator("#token-field")).to_be_visible()


def test_retry_a_failed_agent_from_its_row(page, url, live_rollout, stepper):
    live_rollout.fail("a1.example", "docker")
    page.goto(url)
    stepper.run_until(lambda: live_rollout.agents[0].state == "failed")
    stepper.join()
    row = page.locator("#agent-rows tr", has_text="a1.example")
    expect(row.locator(".badge")).to_have_text("failed")
    expect(page.locator("#count-failed")).to_have_text("1")
    row.get_by_role("button", name="Retry").click()
    page.fill("#action-token", TOKEN)
    page.fill("#action-reason", "disk cleaned")
    page.click("#action-confirm")
    expect(row.locator(".badge")).not_to_have_text("failed")
    expect(page.locator("#count-failed")).to_have_text("0")
    assert live_rollout.events(limit=1)[0]["kind"] == "retry"


def test_works_under_a_stripped_service_prefix(page, prefixed_url, live_rollout, stepper):
    page.goto(prefixed_url)
    expect(page.locator("#agent-rows tr")).to_have_count(5)
    mark_document(page)
    stepper.run_until(lambda: _counts(live_rollout)["complete"] == 1)
    stepper.join()
    expect(page.locator("#headline")).to_have_text("1 of 5 agents complete")
    assert_same_document(page)
    page.fill("#filter-q", "p1")
    expect(page.locator("#agent-rows tr")).to_have_count(1)
    assert page.url.startswith(prefixed_url)
    page.locator("#agent-rows a", has_text="p1.example").click()
    expect(page.locator("#agent-host")).to_have_text("p1.example")
    assert page.url.startswith(prefixed_url + "agents/")
    mark_document(page)
    stepper.run_until(lambda: live_rollout.agents[4].state != "pending")
    stepper.join()
    expect(page.locator("#agent-state")).to_have_text("in progress")
    task_id = live_rollout.agents[4].steps[0].history[0].task_id
    expect(page.locator("#agent-steps .history")).to_have_count(1)
    expect(page.locator("#agent-steps .history td.mono")).to_have_text(task_id)
    expect(page.locator("#agent-events li").first).to_contain_text(f"launched {task_id}")
    assert_same_document(page)
    page.locator(".crumbs a").click()
    expect(page.locator("#headline")).to_be_visible()
    assert page.url == prefixed_url


def test_rows_keep_their_elements_across_refreshes(page, url, live_rollout, stepper):
    """A link is not replaced while the rollout moves: a click whose press and release
    straddle a refresh still reaches it."""
    page.goto(url)
    expect(page.locator("#agent-rows tr")).to_have_count(5)
    link = page.locator("#agent-rows a", has_text="p1.example").element_handle()
    stepper.run_until(lambda: _counts(live_rollout)["complete"] == 1)
    stepper.join()
    expect(page.locator("#headline")).to_have_text("1 of 5 agents complete")
    expect(page.locator("#agent-rows tr", has_text="a1.example").locator(".state")).to_have_text(
        "complete")
    assert link.evaluate("node => node.isConnected")
    link.click()
    expect(page.locator("#agent-host")).to_have_text("p1.example")


def test_ten_thousand_agents_stay_responsive(page):
    """Filter, search and page over 10,000 agents; only one page of rows is ever rendered."""
    served = _serve(FixedStatus(10_000))
    base = next(served)
    try:
        page.goto(base)
        expect(page.locator("#page-info")).to_have_text("1–50 of 10000")
        expect(page.locator("#agent-rows tr")).to_have_count(50)
        expect(page.locator("#slot-holders")).to_have_text("host-09999.example")
        mark_document(page)
        page.click("#next-page")
        expect(page.locator("#page-info")).to_have_text("51–100 of 10000")
        expect(page.locator("#agent-rows tr").first).to_contain_text("host-00050.example")
        page.fill("#filter-q", "host-0999")
        expect(page.locator("#page-info")).to_have_text("1–10 of 10")
        page.select_option("#filter-state", "in_progress")
        expect(page.locator("#agent-rows tr")).to_have_count(1)
        expect(page.locator("#agent-rows tr .slot-mark")).to_be_visible()
        page.select_option("#filter-state", "failed")
        expect(page.locator("#page-info")).to_have_text("no agents match")
        assert_same_document(page)
        page.select_option("#filter-state", "pending")
        page.reload()  # the filters live in the URL
        expect(page.locator("#filter-q")).to_have_value("host-0999")
        expect(page.locator("#filter-state")).to_have_value("pending")
        expect(page.locator("#agent-rows tr")).to_have_count(9)
    finally:
        next(served, None)


@pytest.fixture
def iam() -> Iterator[IamServer]:
    server = IamServer(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                       time.time).start()
    yield server
    server.stop()


def test_a_dcos_user_acts_through_admin_router_with_no_token(page, live_rollout, iam):
    app = create_app(live_rollout, live_rollout, token=TOKEN,
                     health=lambda: HealthReport(ok=True), metrics=list,
                     dcos_users=DcosUserTokens(iam.jwks_url))
    app.config["REFRESH_MS"] = REFRESH_MS
    scheduler = serve(app)
    router = AdminRouter(lambda: iam.signing_key.public_key(), {"calico": scheduler.url})
    front = serve(router)
    try:
        url = f"{front.url}service/calico/"
        assert page.goto(url).status == 401  # Admin Router: no DC/OS login, no page
        pause_as_dcos_user(page, url, front.url, iam.user_token("alice"), "alice",
                           "kernel upgrade")
        expect(page.locator("#events li").first).to_contain_text("by alice")
        assert live_rollout.paused["by"] == "alice"
    finally:
        front.stop()
        scheduler.stop()


def test_with_no_way_to_authenticate_the_page_says_how_to_enable_actions(page, live_rollout,
                                                                        stepper):
    live_rollout.fail("a1.example", "etcd-proxy")
    stepper.run_until(lambda: live_rollout.agents[0].state == "failed")
    stepper.join()
    app = create_app(live_rollout, live_rollout, token=None,
                     health=lambda: HealthReport(ok=True), metrics=list)
    app.config["REFRESH_MS"] = REFRESH_MS
    handle = serve(app)
    try:
        page.goto(handle.url)
        expect(page.locator("#actions-off")).to_contain_text("status.dcos_login")
        expect(page.locator("#actions-off")).to_contain_text("status.operator_token_secret")
        expect(page.locator("#agent-rows tr.row-failed")).to_have_count(1)
        assert page.locator("button[data-action]").count() == 0
    finally:
        handle.stop()


def test_readiness_and_uninstall_banners_follow_the_scheduler_live(page):
    """The page's script words readiness and the uninstall as the server does."""
    source = FixedStatus(3)
    health = {"report": HealthReport(ok=True)}
    app = create_app(source, source, token=TOKEN, health=lambda: health["report"],
                     metrics=dict)
    app.config["REFRESH_MS"] = REFRESH_MS
    handle = serve(app)
    try:
        page.goto(handle.url)
        expect(page.locator("#readiness")).to_be_hidden()
        mark_document(page)
        health["report"] = HealthReport(ok=False, reasons=("etcd is unreachable",))
        expect(page.locator("#readiness-text")).to_have_text(
            "Not ready: etcd is unreachable. Nothing new is decided or launched until this "
            "clears; tasks already running go on, and this page shows the last recorded state.")
        source.document["rollout"].update(mode="uninstall", uninstall={
            "requested_by": "cosmos", "requested_at": time.time(), "why": "SDK_UNINSTALL",
            "skipped": [{"id": "c0ffee-S0", "hostname": "<b>host-00000</b>"}]})
        expect(page.locator("#headline")).to_have_text("0 of 3 agents uninstalled")
        expect(page.locator("#uninstall-text")).to_contain_text(
            "Skipped by an operator, Calico stays on: <b>host-00000</b>.")
        source.document["framework"]["torn_down"] = True
        health["report"] = HealthReport(ok=True)
        expect(page.locator("#uninstall-text")).to_contain_text("Calico is uninstalled")
        expect(page.locator("#readiness")).to_be_hidden()
        assert_same_document(page)
    finally:
        handle.stop()
