"""The JSON API through the Flask test client: status queries, agent detail, events, health,
metrics and operator actions, including every refusal."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import HOSTILE_HOST, TOKEN, auth
from tests.web.rollout import FixedStatus
from web import ControlUnavailableError, HealthReport, create_app
from web.contracts import TokenRejectedError, UserCheckUnavailableError

PAUSE = "/v1/rollout/pause"


def _advance(rollout, times: int) -> None:
    for _ in range(times):
        rollout.advance()


# ---------- GET /v1/status ----------


def test_status_without_query_is_the_whole_document(client, rollout):
    _advance(rollout, 3)
    body = client.get("/v1/status").get_json()
    assert body.pop("health") == {"ok": True, "reasons": [], "ready": True, "live": True,
                                  "live_reason": None}
    assert body == rollout.status()
    assert "page" not in body
    assert [a["hostname"] for a in body["agents"]] == sorted(a.hostname for a in rollout.agents)


@pytest.mark.parametrize(
    ("query", "expected_hosts", "total"),
    [
        ("state=in_progress", ["a1.example"], 1),
        ("state=pending", [HOSTILE_HOST, "a2.example", "a3.example", "p1.example"], 4),
        ("q=A2.EX", ["a2.example"], 1),
        ("q=example&limit=2", ["a1.example", "a2.example"], 4),
        ("q=example&limit=2&offset=3", ["p1.example"], 4),
        ("state=failed", [], 0),
        ("offset=10", [], 5),
    ],
)
def test_status_filters_and_pages_agents(client, rollout, query, expected_hosts, total):
    rollout.advance()
    body = client.get(f"/v1/status?{query}").get_json()
    assert [a["hostname"] for a in body["agents"]] == expected_hosts
    assert body["page"]["total"] == total
    assert body["rollout"]["counts"]["total"] == 5  # counts always cover the cluster


@pytest.mark.parametrize(
    "query",
    ["state=broken", "limit=0", "limit=-1", "limit=ten", "limit=10001", "offset=-3",
     "q=" + "x" * 201],
)
def test_status_rejects_bad_queries(client, query):
    response = client.get(f"/v1/status?{query}")
    assert response.status_code == 400
    assert response.is_json and response.get_json()["status"] == 400
    assert response.get_json()["error"]


# ---------- GET /v1/agents/<id> and /v1/events ----------


def test_agent_detail_has_task_history_and_events(client, rollout):
    _advance(rollout, 4)
    agent_id = rollout.agents[0].id
    body = client.get(f"/v1/agents/{agent_id}").get_json()
    assert body["hostname"] == "a1.example"
    etcd_proxy, docker = body["steps"][0], body["steps"][1]
    assert etcd_proxy["history"][0]["state"] == "TASK_FINISHED"
    assert docker["history"][0]["task_id"].startswith(f"calico-docker.{agent_id}.")
    assert [e["kind"] for e in body["events"]] == ["finished", "launched", "finished", "launched"]


def test_agent_detail_refuses_unknown_and_malformed_ids(client):
    unknown = client.get("/v1/agents/no-such-agent")
    assert unknown.status_code == 404 and "no-such-agent" in unknown.get_json()["error"]
    malformed = client.get("/v1/agents/bad%20id%3B")
    assert malformed.status_code == 400


def test_events_are_newest_first_limited_and_filterable(client, rollout):
    _advance(rollout, 10)
    events = client.get("/v1/events?limit=3").get_json()["events"]
    assert [e["seq"] for e in events] == [10, 9, 8]
    second = rollout.agents[1].id
    only_second = client.get(f"/v1/events?agent={second}").get_json()["events"]
    assert only_second and {e["agent_id"] for e in only_second} == {second}


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "limit=1001", "agent=..%2Fetc"])
def test_events_reject_bad_queries(client, query):
    assert client.get(f"/v1/events?{query}").status_code == 400


# ---------- /health and /metrics ----------


def test_health_reports_readiness_and_liveness(client, health):
    assert client.get("/health").get_json() == {
        "ok": True, "reasons": [], "ready": True, "live": True, "live_reason": None}
    health.report = HealthReport(ok=False, reasons=("etcd is unreachable",))
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["reasons"] == ["etcd is unreachable"]
    # Not ready is not a reason to restart: liveness stays 200.
    live = client.get("/health/live")
    assert (live.status_code, live.get_json()) == (200, {"live": True, "reason": None})
    assert client.get("/v1/status").get_json()["health"]["reasons"] == ["etcd is unreachable"]
    health.report = HealthReport(ok=False, reasons=("etcd is unreachable",), live=False,
                                 live_reason="the worker is stuck")
    live = client.get("/health/live")
    assert (live.status_code, live.get_json()) == (503, {"live": False,
                                                         "reason": "the worker is stuck"})


@pytest.mark.parametrize("path", ["/health", "/health/live"])
def test_health_probe_that_raises_is_neither_ready_nor_live(rollout, path):
    def broken() -> HealthReport:
        raise ConnectionError("etcd unreachable")

    app = create_app(rollout, rollout, token=TOKEN, health=broken, metrics=dict)
    response = app.test_client().get(path)
    assert response.status_code == 503
    assert "etcd unreachable" in str(response.get_json())


def test_metrics_cover_agents_steps_budget_and_scheduler_counters(client, rollout):
    _advance(rollout, 3)
    response = client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }
    for name, labels, value in (
        ("calico_dcos_agents", {"state": "in_progress"}, 1),
        ("calico_dcos_agents", {"state": "pending"}, 4),
        ("calico_dcos_steps", {"state": "complete", "step": "etcd-proxy"}, 1),
        ("calico_dcos_steps", {"state": "running", "step": "docker"}, 1),
        ("calico_dcos_restarts_in_progress", {}, 1),
        ("calico_dcos_rollout_state", {"state": "in_progress"}, 1),
        ("calico_dcos_rollout_state", {"state": "paused"}, 0),
        ("calico_dcos_offers_received_total", {}, 42),
        ("calico_dcos_etcd_errors_total", {}, 1),
        ("calico_dcos_suppress_total", {}, 0),
    ):
        assert samples[(name, tuple(sorted(labels.items())))] == value, name


# ---------- operator actions ----------


def test_actions_are_refused_when_no_token_is_configured(make_app):
    client = make_app(token=None).test_client()
    response = client.post(PAUSE, json={"reason": "x"}, headers=auth(""))
    assert response.status_code == 403
    assert response.get_json()["error"].startswith("operator actions are disabled")


@pytest.mark.parametrize(
    "headers",
    [{}, auth("wrong"), {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer "}],
)
def test_actions_need_the_right_bearer_token(client, rollout, headers):
    response = client.post(PAUSE, json={"reason": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert rollout.status()["rollout"]["state"] == "in_progress"


def test_operator_header_works_and_wins_over_authorization(client, rollout):
    dcos_login = {"Authorization": "token=eyJhbGciOi.dcos.jwt", "X-Operator-Token": TOKEN}
    assert client.post(PAUSE, json={"reason": "x"}, headers=dcos_login).status_code == 200
    wrong = {"Authorization": f"Bearer {TOKEN}", "X-Operator-Token": "wrong"}
    assert client.post(PAUSE, json={"reason": "x"}, headers=wrong).status_code == 401
    dcos_only = {"Authorization": "token=eyJhbGciOi.dcos.jwt"}
    assert client.post(PAUSE, json={"reason": "x"}, headers=dcos_only).status_code == 401
    empty = {"X-Operator-Token": " "}
    assert client.post(PAUSE, json={"reason": "x"}, headers=empty).status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"data": "not json", "content_type": "application/json"}, "JSON object"),
        ({"json": ["reason"]}, "JSON object"),
        ({"json": {}}, "'reason'"),
        ({"json": {"reason": "   "}}, "'reason'"),
        ({"json": {"reason": 5}}, "'reason'"),
        ({"json": {"reason": "x" * 501}}, "at most 500"),
        ({"json": {"reason": "ok", "by": ""}}, "'by'"),
        ({"json": {"reason": "ok", "force": True}}, "unknown fields"),
        ({"data": "reason=ok"}, "JSON object"),
    ],
)
def test_actions_reject_bad_bodies(client, rollout, kwargs, fragment):
    response = client.post(PAUSE, headers=auth(), **kwargs)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    assert not rollout.paused["paused"]


def test_oversized_body_is_refused(client):
    response = client.post(PAUSE, headers=auth(), json={"reason": "x" * 20_000})
    assert response.status_code == 413 and response.is_json


def test_pause_and_resume_are_idempotent_and_recorded(client, rollout):
    first = client.post(PAUSE, headers=auth(), json={"reason": "maintenance", "by": "alice"})
    again = client.post(PAUSE, headers=auth(), json={"reason": "still maintenance"})
    assert first.status_code == again.status_code == 200
    assert again.get_json()["rollout"]["state"] == "paused"
    assert rollout.status()["rollout"]["control"]["by"] == "operator token (alice)"
    assert not rollout.advance()
    resumed = client.post("/v1/rollout/resume", headers=auth(), json={"reason": "done"})
    assert resumed.get_json()["rollout"]["state"] == "in_progress"
    kinds = [e["kind"] for e in client.get("/v1/events").get_json()["events"]]
    assert kinds == ["resumed", "paused", "paused"]


def test_retry_and_skip_reach_the_control(client, rollout):
    rollout.fail("a1.example", "etcd-proxy")
    _advance(rollout, 2)
    agent_id = rollout.agents[0].id
    assert client.get(f"/v1/agents/{agent_id}").get_json()["state"] == "failed"
    retried = client.post(f"/v1/agents/{agent_id}/retry", headers=auth(), json={"reason": "fixed"})
    assert retried.status_code == 200 and retried.get_json()["agent_id"] == agent_id
    step = client.get(f"/v1/agents/{agent_id}").get_json()["steps"][0]
    assert (step["state"], step["message"]) == ("pending", "retry requested")
    skipped = client.post(f"/v1/agents/{agent_id}/skip", headers=auth(), json={"reason": "later"})
    assert skipped.status_code == 200
    assert rollout.agents[0].steps[0].state == "skipped"


def test_actions_map_control_errors_to_status_codes(client, rollout, app):
    not_failed = client.post(
        f"/v1/agents/{rollout.agents[0].id}/retry", headers=auth(), json={"reason": "x"}
    )
    assert not_failed.status_code == 409 and "no failed step" in not_failed.get_json()["error"]
    unknown = client.post("/v1/agents/nope/skip", headers=auth(), json={"reason": "x"})
    assert unknown.status_code == 404
    malformed = client.post("/v1/agents/a%20b/skip", headers=auth(), json={"reason": "x"})
    assert malformed.status_code == 400

    def unavailable(by: str, why: str) -> None:
        raise ControlUnavailableError("not the leader")

    rollout.pause = unavailable
    response = client.post(PAUSE, headers=auth(), json={"reason": "x"})
    assert response.status_code == 503 and response.get_json()["error"] == "not the leader"


def test_wrong_method_and_unknown_path_are_json_errors(client):
    wrong_method = client.get(PAUSE)
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and missing.is_json


def test_hostile_strings_stay_data_in_json(client, rollout):
    rollout.say("a1.example", "docker", "<script>alert(2)</script>")
    body = client.get("/v1/status?q=%3Cimg").get_json()
    assert [a["hostname"] for a in body["agents"]] == [HOSTILE_HOST]
    assert client.get("/v1/status").headers["Content-Type"] == "application/json"


class _Published:
    """A status source like the scheduler's snapshot: the document is replaced whole."""

    def __init__(self, rollout) -> None:
        self.rollout = rollout
        self.publish()

    def publish(self) -> None:
        self.document = self.rollout.status()

    def status(self):
        return self.document

    def agent(self, agent_id):
        return self.rollout.agent(agent_id)

    def events(self, agent_id=None, limit=100):
        return self.rollout.events(agent_id, limit)


def test_the_whole_document_is_encoded_once_per_published_document(rollout, health):
    """Every request for the same (immutable) document shares one encoding; a new document
    is encoded anew, and the live health is added to each answer."""
    source = _Published(rollout)
    app = create_app(source, rollout, token=TOKEN, health=health, metrics=dict)
    encoded = []
    context = app.extensions["calico_dcos"]
    dumps = context.encoded._dumps
    context.encoded._dumps = lambda value: encoded.append(value) or dumps(value)
    client = app.test_client()
    first = [client.get("/v1/status").get_json() for _ in range(3)]
    first_agent = source.document["agents"][0]
    assert [value for value in encoded if value is first_agent] == [first_agent]
    assert first[0] == first[1] == first[2]
    assert first[0].pop("health")["ok"] is True
    assert first[0] == source.document
    rollout.advance()
    source.publish()
    health.report = HealthReport(ok=False, reasons=("etcd is unreachable",))
    second = client.get("/v1/status").get_json()
    assert second.pop("health")["reasons"] == ["etcd is unreachable"]
    assert second == source.document != first[0]
    assert len([value for value in encoded if value is source.document["agents"][0]]) == 1


def test_the_whole_document_is_answered_as_dumps_encodes_it(rollout, health):
    """Encoded agent by agent, the answer is still `dumps(document)`, then the health."""
    source = _Published(rollout)
    app = create_app(source, rollout, token=TOKEN, health=health, metrics=dict)
    body = app.test_client().get("/v1/status").data
    whole = app.json.dumps(source.document).encode()
    assert body.startswith(whole[:-1] + b',"health":') and source.document["agents"]


def test_ten_thousand_agents_are_served_a_page_at_a_time():
    source = FixedStatus(10_000)
    app = create_app(
        source, source, token=TOKEN, health=lambda: HealthReport(ok=True), metrics=dict
    )
    client = app.test_client()
    body = client.get("/v1/status?limit=50&offset=9950").get_json()
    assert [a["hostname"] for a in body["agents"]][-1] == "host-09999.example"
    assert body["page"]["total"] == 10_000 and len(body["agents"]) == 50
    assert body["page"]["slot_holders"] == {"c0ffee-S9999": "host-09999.example"}
    html = client.get("/").get_data(as_text=True)
    assert html.count('<tr data-agent-id="') == 50
    assert 'id="page-info">1–50 of 10000</span>' in html
    assert 'id="slot-holders">host-09999.example</span>' in html
    assert len(client.get("/v1/status?q=host-0999").get_json()["agents"]) == 10


def test_an_empty_document_before_any_work_still_renders(rollout):
    class Empty:
        def status(self):
            return {}

        def agent(self, agent_id):
            return None

        def events(self, agent_id=None, limit=100):
            return []

    app = create_app(
        Empty(), rollout, token=TOKEN, health=lambda: HealthReport(ok=True), metrics=dict
    )
    client = app.test_client()
    assert "0 of 0 agents complete" in client.get("/").get_data(as_text=True)
    assert client.get("/v1/status?state=pending").get_json()["page"]["total"] == 0
    assert 'calico_dcos_agents{state="pending"} 0' in client.get("/metrics").get_data(as_text=True)


# ---------- who acts ----------


class FakeDcosUsers:
    """Tokens "good-<uid>" stand for <uid>; "down" means the IAM cannot be reached."""

    def verify(self, token: str) -> str:
        if token == "down":
            raise UserCheckUnavailableError("IAM unreachable")
        if not token.startswith("good-"):
            raise TokenRejectedError("signature verification failed")
        return token.removeprefix("good-")


@pytest.fixture
def dcos_client(rollout, health, artifacts_dir):
    app = create_app(rollout, rollout, token=None, health=health, metrics=list,
                     artifacts_dir=artifacts_dir, dcos_users=FakeDcosUsers())
    return app.test_client()


def test_a_dcos_user_is_recorded_as_by_whatever_the_body_claims(dcos_client, rollout):
    headers = {"Authorization": "token=good-alice"}
    answer = dcos_client.post(PAUSE, headers=headers, json={"reason": "x", "by": "mallory"})
    assert answer.status_code == 200
    assert rollout.status()["rollout"]["control"]["by"] == "alice (mallory)"
    assert dcos_client.post("/v1/rollout/resume", headers=headers,
                            json={"reason": "y"}).status_code == 200
    assert rollout.events(limit=1)[0]["by"] == "alice"


@pytest.mark.parametrize(("headers", "status", "fragment"), [
    ({"Authorization": "token=forged"}, 401, "signature verification failed"),
    ({"Authorization": "token=down"}, 503, "IAM unreachable"),
    ({"X-Operator-Token": TOKEN}, 401, "no operator token"),
    ({}, 401, "log in to DC/OS"),
])
def test_dcos_login_refusals_say_why(dcos_client, rollout, headers, status, fragment):
    answer = dcos_client.post(PAUSE, headers=headers, json={"reason": "x"})
    assert answer.status_code == status
    assert fragment in answer.get_json()["error"]
    assert not rollout.paused["paused"]


def test_a_form_post_with_a_dcos_login_is_refused(dcos_client, rollout):
    """What a cross-site form could send with the user's DC/OS cookie (Admin Router turns
    it into the Authorization header): not JSON, so nothing happens."""
    answer = dcos_client.post(PAUSE, headers={"Authorization": "token=good-alice"},
                              data={"reason": "x"})
    assert answer.status_code == 400
    assert not rollout.paused["paused"]


def test_operator_endpoint_says_who_would_act(dcos_client, client, make_app):
    assert dcos_client.get("/v1/operator", headers={"Authorization": "token=good-alice"}
                           ).get_json() == {
        "actions_enabled": True, "operator_token": False, "dcos_login": True,
        "operator": "alice", "via": "dcos", "problem": None}
    refused = dcos_client.get("/v1/operator", headers={"Authorization": "token=bad"})
    assert refused.get_json()["problem"].startswith("DC/OS token refused")
    assert client.get("/v1/operator", headers=auth()).get_json()["operator"] == "operator token"
    off = make_app(token=None).test_client().get("/v1/operator").get_json()
    assert (off["actions_enabled"], off["problem"]) == (
        False, "operator actions are disabled: configure an operator token "
               "(CALICO_OPERATOR_TOKEN) or DC/OS login (CALICO_DCOS_LOGIN)")
