"""The status page of the real scheduler during a live dev-cluster rollout, in Chromium, both
directly and through a reverse proxy that strips `/service/calico/` as Admin Router does."""

from __future__ import annotations

import ipaddress
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster.cluster import ClusterOptions
from devcluster.stack import DevStack, StackOptions
from operator_cli.commands import main as cli_main
from tests.web.conftest import ADMIN_ROUTER_PREFIX, assert_same_document, mark_document
from tests.web.proxy import StrippingProxy
from web import serve

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_COPY = REPO / "out" / "screenshots" / "status-page-live.png"
# The simulated host derives a file-safe name from this, which must start with a letter.
HOSTILE_HOST = "a3<img src=x onerror=alert(1)>"
LIVE_HOSTNAMES = ("a1.example", "a2.example", HOSTILE_HOST, "a4.example", "p1.example")
ROLLOUT_WAIT_MS = 150_000
POOL = ipaddress.ip_network("192.168.0.0/16")  # the package's default CALICO_CNI_SUBNET
STARTUP_DEADLINE_S = 60.0


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    # calico/node v2.6 refuses the hostile host name as a node name, so that agent fails
    # (without halting the rollout) until an operator skips it.
    options = StackOptions(
        cluster=ClusterOptions(agents=4, public_agents=1, hostnames=LIVE_HOSTNAMES),
        max_concurrent_restarts=3,
        scheduler_env=(("CALICO_MAX_FAILED_AGENTS", "2"), ("CALICO_RETRY_MAX_ATTEMPTS", "2")),
    )
    with DevStack(tmp_path / "cluster", options) as running:
        running.wait_status(lambda status: len(status["agents"]) == 5, STARTUP_DEADLINE_S)
        yield running


@pytest.fixture
def proxied_url(stack: DevStack) -> Iterator[str]:
    handle = serve(StrippingProxy(stack.status_url, ADMIN_ROUTER_PREFIX))
    yield f"{handle.url}{ADMIN_ROUTER_PREFIX.lstrip('/')}/"
    handle.stop()


def test_live_rollout_on_the_status_page(page, browser, stack, proxied_url, tmp_path, capsys):
    page.goto(stack.status_url)
    expect(page.locator("#agent-rows tr")).to_have_count(5)
    mark_document(page)
    expect(page.locator("#agent-rows td.host a", has_text=HOSTILE_HOST)).to_have_count(1)
    assert page.locator("#agent-rows img").count() == 0

    page.click("#pause-button")
    page.fill("#action-token", stack.options.operator_token)
    page.fill("#action-reason", "checking the page")
    page.click("#action-confirm")
    expect(page.locator("#rollout-state")).to_have_text("paused")
    expect(page.locator("#banner")).to_contain_text("checking the page")
    page.click("#resume-button")
    page.fill("#action-reason", "carry on")
    page.click("#action-confirm")
    expect(page.locator("#rollout-state")).to_have_text("in progress")

    proxied = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        proxied.goto(proxied_url)
        expect(proxied.locator("#agent-rows tr")).to_have_count(5)
        mark_document(proxied)

        expect(page.locator("#headline")).to_have_text(
            re.compile(r"^[1-4] of 5 agents complete$"), timeout=ROLLOUT_WAIT_MS
        )
        screenshot = tmp_path / "status-page-live.png"
        page.screenshot(path=str(screenshot), full_page=True)
        SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, SCREENSHOT_COPY)

        hostile = page.locator("#agent-rows tr", has=page.locator("td.host a",
                                                                  has_text=HOSTILE_HOST))
        expect(hostile.locator("td.state")).to_contain_text("failed", timeout=ROLLOUT_WAIT_MS)
        expect(page.locator("#headline")).to_have_text(
            "4 of 5 agents complete", timeout=ROLLOUT_WAIT_MS)
        hostile.locator("button[data-action=skip]").click()
        page.fill("#action-reason", "not a valid Calico node name")
        page.click("#action-confirm")

        for view in (page, proxied):
            expect(view.locator("#headline")).to_have_text(
                "5 of 5 agents complete", timeout=ROLLOUT_WAIT_MS
            )
            expect(view.locator("#rollout-state")).to_have_text("complete")
            assert_same_document(view)
        # Every agent but the skipped one has its own address from the pool.
        cells = page.locator("#agent-rows td.network").all_inner_texts()
        verified = [cell.split()[1] for cell in cells if cell.startswith("verified ")]
        assert len(verified) == 4 and len(set(verified)) == 4, cells
        assert all(ipaddress.ip_address(ip) in POOL for ip in verified), verified
        assert "not verified: skipped by an operator" in cells
        proxied.locator("#agent-rows td.host a", has_text=HOSTILE_HOST).click()
        expect(proxied.locator("#agent-host")).to_have_text(HOSTILE_HOST)
        expect(proxied.locator("#agent-state")).to_have_text("complete")
        assert proxied.url.startswith(proxied_url + "agents/")
    finally:
        proxied.close()
    assert cli_main(["status", "--url", proxied_url], {}) == 0
    assert capsys.readouterr().out.startswith("calico: complete, 5 of 5 agents complete")
