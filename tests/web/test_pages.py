"""The server-rendered pages: content, escaping, security headers, and relative URLs that keep
working under Admin Router's `/service/calico/` prefix."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.test import Client

from tests.web.conftest import ADMIN_ROUTER_PREFIX, HOSTILE_HOST, PrefixStripper
from tests.web.rollout import FixedStatus
from web import HealthReport, create_app
from web.pages import relative_root

SCRIPT_TAG = "<script>alert(2)</script>"


class LinkCollector(HTMLParser):
    """Every URL a browser would load or follow from a page, and every script element."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.handlers += [name for name in named if name.startswith("on")]
        if tag == "script":
            self.scripts.append(named)
        for attr in ("href", "src", "action"):
            if named.get(attr) is not None:
                self.urls.append(named[attr] or "")


def collect(html: str) -> LinkCollector:
    parser = LinkCollector()
    parser.feed(html)
    return parser


def _mid_rollout(rollout) -> None:
    for _ in range(5):
        rollout.advance()
    rollout.say("a1.example", "cni", SCRIPT_TAG)


def test_overview_shows_summary_and_every_agent(client, rollout):
    _mid_rollout(rollout)
    html = client.get("/").get_data(as_text=True)
    assert "0 of 5 agents complete" in html
    assert html.count('<tr data-agent-id="') == 5
    assert 'id="slots">1 of 1</span>' in html
    assert 'id="slot-holders">a1.example</span>' in html
    assert "waiting for a restart slot" in html
    assert 'id="gone-retention">(forgotten after 7 d 0 h)</span>' in html


def test_overview_lists_recent_events_with_host_links(client, rollout):
    _mid_rollout(rollout)
    html = client.get("/").get_data(as_text=True)
    events = html[html.index('<ol class="events" id="events">') :]
    latest_task = rollout.agents[0].steps[2].history[-1].task_id
    assert events.count("<li>") == 5
    assert f"a1.example</a>: launched {latest_task}" in events
    assert f'href="./agents/{rollout.agents[0].id}"' in events


def test_hostile_strings_are_escaped(client, rollout):
    _mid_rollout(rollout)
    hostile_id = next(a.id for a in rollout.agents if a.hostname == HOSTILE_HOST)
    agent_page = client.get(f"/agents/{hostile_id}").get_data(as_text=True)
    for html in (client.get("/").get_data(as_text=True), agent_page):
        assert HOSTILE_HOST not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    overview = client.get("/").get_data(as_text=True)
    assert SCRIPT_TAG not in overview
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in overview


def test_pages_have_a_strict_csp_and_no_inline_script(client, rollout):
    _mid_rollout(rollout)
    for path in ("/", f"/agents/{rollout.agents[0].id}", "/agents/nope"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp
        parsed = collect(response.get_data(as_text=True))
        assert parsed.scripts and all(script.get("src") for script in parsed.scripts)
        assert not parsed.handlers


def test_every_url_in_the_pages_is_relative(client, rollout):
    _mid_rollout(rollout)
    for path in ("/", f"/agents/{rollout.agents[0].id}"):
        for url in collect(client.get(path).get_data(as_text=True)).urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc and not url.startswith("/"), url


@pytest.mark.parametrize(
    ("path", "root"), [("/", "./"), ("/agents/x", "../"), ("/a/b/c", "../../")]
)
def test_relative_root(path, root):
    assert relative_root(path) == root


def test_agent_page_shows_history_and_events(client, rollout):
    _mid_rollout(rollout)
    agent = rollout.agents[0]
    html = client.get(f"/agents/{agent.id}").get_data(as_text=True)
    assert agent.steps[1].history[0].task_id in html
    assert "TASK_FINISHED" in html
    assert "launched calico-etcd-proxy." in html


def test_agent_page_errors_are_html(client):
    missing = client.get("/agents/no-such-agent")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "no agent with id no-such-agent" in missing.get_data(as_text=True)
    assert client.get("/?state=bogus").status_code == 400


def test_overview_pages_and_filters_like_the_api(client, rollout):
    rollout.advance()
    html = client.get("/?q=example&offset=1&state=pending").get_data(as_text=True)
    assert html.count('<tr data-agent-id="') == 2
    assert 'id="page-info">2–3 of 3</span>' in html
    assert '<option value="pending" selected>' in html


def test_everything_works_under_the_admin_router_prefix(app, rollout):
    """Load each page through a prefix-stripping proxy and follow every URL it references."""
    _mid_rollout(rollout)
    client = Client(PrefixStripper(app, ADMIN_ROUTER_PREFIX))
    base = f"http://master.example{ADMIN_ROUTER_PREFIX}/"
    pages = [base, urljoin(base, f"agents/{rollout.agents[0].id}")]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        for url in collect(response.get_data(as_text=True)).urls:
            target = urljoin(page, url)
            assert urlsplit(target).path.startswith(ADMIN_ROUTER_PREFIX + "/"), (page, url)
            assert client.get(target).status_code == 200, (page, url, target)
    for api_path in ("v1/status", f"v1/agents/{rollout.agents[0].id}", "static/console.js"):
        assert client.get(urljoin(pages[1], "../" + api_path)).status_code == 200


def test_static_assets_are_served_by_the_app(client):
    for asset, kind in (("console.css", "text/css"), ("console.js", "javascript")):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200 and kind in response.content_type


def test_halted_rollout_shows_its_reason():
    source = FixedStatus(3)
    source.document["rollout"].update(state="halted", reason="2 agents failed <max 1>")
    app = create_app(
        source, source, token=None, health=lambda: HealthReport(ok=True), metrics=dict
    )
    html = app.test_client().get("/").get_data(as_text=True)
    assert '<span class="badge state-halted">halted</span>' in html
    assert 'id="banner" hidden' not in html
    assert "2 agents failed &lt;max 1&gt;" in html


def test_readiness_reasons_show_on_the_page_and_clear(client, health):
    assert 'id="readiness" role="status" hidden' in client.get("/").get_data(as_text=True)
    health.report = HealthReport(ok=False, reasons=("etcd is unreachable <x>",))
    html = client.get("/").get_data(as_text=True)
    assert 'id="readiness" role="status" hidden' not in html
    assert ("Not ready: etcd is unreachable &lt;x&gt;. Nothing new is decided or launched "
            "until this clears") in html


def test_an_uninstall_says_who_asked_what_happens_and_which_agents_keep_calico():
    source = FixedStatus(3)
    source.document["rollout"].update(mode="uninstall", uninstall={
        "requested_by": "cosmos", "requested_at": None, "why": "SDK_UNINSTALL is set",
        "skipped": [{"id": "c0ffee-S0", "hostname": "host-00000.example"}]})
    app = create_app(
        source, source, token=None, health=lambda: HealthReport(ok=True), metrics=dict
    )
    html = app.test_client().get("/").get_data(as_text=True)
    assert "0 of 3 agents uninstalled" in html
    assert "Uninstalling Calico (requested by cosmos" in html
    assert "Skipped by an operator, Calico stays on: host-00000.example." in html
    source.document["framework"]["torn_down"] = True
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Calico is uninstalled: the framework is torn down" in html


def test_the_network_column_says_verified_or_why_not_escaped(client, rollout):
    _mid_rollout(rollout)
    first, second = rollout.agents[0], rollout.agents[1]
    first.network = {"state": "verified", "ip": "192.168.4.2", "at": None, "error": None}
    second.network = {"state": "failed", "ip": None, "at": None,
                      "error": f"The CNI plugin failed: {SCRIPT_TAG}"}
    overview = client.get("/").get_data(as_text=True)
    assert "verified 192.168.4.2" in overview
    assert "failed: The CNI plugin failed: &lt;script&gt;alert(2)&lt;/script&gt;" in overview
    assert SCRIPT_TAG not in overview
    agent_page = client.get(f"/agents/{second.id}").get_data(as_text=True)
    assert 'id="agent-network">Network: failed: The CNI plugin failed: &lt;script&gt;' in agent_page
