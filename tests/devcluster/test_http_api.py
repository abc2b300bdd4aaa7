"""Bad input to /api/v1/scheduler over raw HTTP: the codes a Mesos master answers with.

Sources: apache/mesos src/master/http.cpp `Master::Http::scheduler`, validation.cpp
`validation::scheduler::call::validate`, 3rdparty/stout protobuf.hpp `parse` (1.4.3 and
1.8.x; where they differ the test names the version).
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devcluster.master import MasterOptions
from tests.devcluster.harness import (
    FAST,
    VERSIONS,
    MasterHarness,
    RecordingScheduler,
)
from tests.devcluster.rawhttp import FRAMEWORK_INFO, RawSubscription, call, post
from tests.wait import wait_until

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def subscribed(harness):
    stream = RawSubscription(harness.master.address).open()
    yield stream
    stream.close()


def _reconcile(stream: RawSubscription) -> dict:
    return {"type": "RECONCILE", "framework_id": {"value": stream.framework_id},
            "reconcile": {"tasks": []}}


def test_accepted_call_is_202_with_empty_body(harness, subscribed):
    answer = call(harness.master.address, _reconcile(subscribed), subscribed.stream_id)
    assert answer.status == 202
    assert answer.headers["Content-Length"] == "0" and answer.body == b""


def test_first_heartbeat_right_after_subscribed_then_every_interval(harness, subscribed):
    """1.4.3 master.hpp `Heartbeater::initialize` and 1.8.x common/heartbeater.hpp
    `ResponseHeartbeaterProcess::initialize` send one at once."""
    wait_until(lambda: len(subscribed.events) >= 2, what="two events")
    assert [e["type"] for e in subscribed.events[:2]] == ["SUBSCRIBED", "HEARTBEAT"]
    wait_until(lambda: sum(e["type"] == "HEARTBEAT" for e in subscribed.events) >= 2,
             what="a second heartbeat")


def test_subscribe_stream_headers(harness, subscribed):
    assert subscribed.status == 200
    assert len(subscribed.stream_id) <= 128
    event = subscribed.events[0]
    assert event["type"] == "SUBSCRIBED"
    assert event["subscribed"]["master_info"]["id"] == harness.master.master_id
    assert event["subscribed"]["heartbeat_interval_seconds"] == FAST.heartbeat_interval_s


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"{not json", JSON, 400),
    (b"\xff\xfe\xfa", JSON, 400),
    (b'{"type": NaN}', JSON, 400),
    (b"[1, 2]", JSON, 400),
    (b'{"type": "RECONCILE"}', {"Content-Type": "text/plain"}, 415),
    (b'{"type": "RECONCILE"}', {"Content-Type": "application/x-protobuf"}, 415),
    (b'{"type": "RECONCILE"}', {}, 400),
    (b'{"type": "RECONCILE"}', {**JSON, "Content-Length": "abc"}, 400),
    (b'{"framework_id": {"value": "x"}}', JSON, 400),
    (b'{"type": "FROBNICATE", "framework_id": {"value": "x"}}', JSON, 400),
    (b'{"type": 7}', JSON, 400),
    (b'{"type": "RECONCILE", "framework_id": "not-an-object"}', JSON, 400),
    (b'{"type": "RECONCILE"}', JSON, 400),
    (b'{"type": "SUBSCRIBE"}', JSON, 400),
    (b'{"type": "SUBSCRIBE", "subscribe": {"framework_info": {"name": "x"}}}', JSON, 400),
])
def test_malformed_calls(harness, body, headers, status):
    answer = post(harness.master.address, body, headers)
    assert answer.status == status, answer.body


def test_calls_from_unknown_or_unsubscribed_frameworks(harness, subscribed):
    doc = _reconcile(subscribed)
    doc["framework_id"]["value"] = "no-such-framework"
    answer = call(harness.master.address, doc, subscribed.stream_id)
    assert (answer.status, answer.body) == (400, b"Framework cannot be found")
    subscribed.close()
    wait_until(lambda: not harness.master.frameworks[subscribed.framework_id].connected,
             what="disconnect noticed")
    answer = call(harness.master.address, _reconcile(subscribed), subscribed.stream_id)
    assert answer.status == 403


@pytest.mark.parametrize(("stream_id", "message"), [
    (None, b"All non-subscribe calls should include the 'Mesos-Stream-Id' header"),
    ("wrong-stream-id", b"The stream ID 'wrong-stream-id' included in this request"),
])
def test_missing_or_wrong_stream_id_is_a_bad_request(harness, subscribed, stream_id,
                                                     message):
    answer = call(harness.master.address, _reconcile(subscribed), stream_id)
    assert answer.status == 400
    assert answer.body.startswith(message)


def test_subscribe_with_a_stream_id_is_a_bad_request(harness):
    doc = {"type": "SUBSCRIBE", "subscribe": {"framework_info": FRAMEWORK_INFO}}
    assert call(harness.master.address, doc, "some-stream").status == 400


def test_subscribe_not_accepting_json_is_not_acceptable(harness):
    doc = {"type": "SUBSCRIBE", "subscribe": {"framework_info": FRAMEWORK_INFO}}
    answer = call(harness.master.address, doc, Accept="application/x-protobuf")
    assert answer.status == 406
    assert not harness.master.frameworks


@pytest.mark.parametrize(("info", "message"), [
    ({"role": "*"}, "must not be set when MULTI_ROLE"),
    ({"roles": ["a", "a"]}, "duplicate"),
    ({"roles": ["/bad"]}, "invalid"),
    ({"roles": ["with space"]}, "invalid"),
    ({"roles": [".."]}, "invalid"),
    ({"capabilities": [], "roles": ["*"]}, "without MULTI_ROLE"),
])
def test_subscribe_with_an_invalid_framework_info_gets_an_error_event(harness, info,
                                                                      message):
    stream = RawSubscription(harness.master.address).open({**FRAMEWORK_INFO, **info})
    try:
        assert stream.status == 200
        assert stream.events[0]["type"] == "ERROR"
        assert message in stream.events[0]["error"]["message"]
        assert not harness.master.frameworks
    finally:
        stream.close()


@pytest.mark.parametrize("framework_id", ["a/b", "..", "with space", "x" * 300, ""])
def test_subscribe_with_an_invalid_framework_id_is_a_bad_request(harness, framework_id):
    info = {**FRAMEWORK_INFO, "id": {"value": framework_id}}
    doc = {"type": "SUBSCRIBE", "framework_id": {"value": framework_id},
           "subscribe": {"framework_info": info}}
    assert call(harness.master.address, doc).status == 400


def test_subscribe_with_suppressed_roles_gets_no_offers_for_them(harness):
    agent = harness.add_agent()
    stream = RawSubscription(harness.master.address).open(suppressed_roles=["*"])
    try:
        harness.master.allocate()
        assert harness.master.frameworks[stream.framework_id].suppressed_roles == {"*"}
        assert not any(e["type"] == "OFFERS" for e in stream.events)
        assert agent.free["*"].scalars["cpus"] == 4.0
    finally:
        stream.close()


@pytest.mark.parametrize(("version", "message"), [
    # stout protobuf.hpp `parse`: 1.4.3 refuses an unknown enum name; 1.8.x drops it from
    # the optional `type`, and validation then finds no type. UPDATE_FRAMEWORK is 1.9+.
    ("1.4", b"Failed to convert JSON into Call protobuf: "
            b"Failed to find enum for 'UPDATE_FRAMEWORK'"),
    ("1.8", b"Failed to validate scheduler::Call: Expecting 'type' to be present"),
])
def test_update_framework_does_not_exist(make_harness, version, message):
    harness = make_harness(version)
    stream = RawSubscription(harness.master.address).open()
    try:
        info = {**FRAMEWORK_INFO, "id": {"value": stream.framework_id}}
        doc = {"type": "UPDATE_FRAMEWORK", "framework_id": {"value": stream.framework_id},
               "update_framework": {"framework_info": info}}
        answer = call(harness.master.address, doc, stream.stream_id)
        assert (answer.status, answer.body) == (400, message)
    finally:
        stream.close()


def _bodies(stream: RawSubscription) -> dict[str, dict]:
    aid, eid = {"value": "agent"}, {"value": "executor"}
    return {
        "ACCEPT_INVERSE_OFFERS": {"accept_inverse_offers": {"inverse_offer_ids": []}},
        "DECLINE_INVERSE_OFFERS": {"decline_inverse_offers": {"inverse_offer_ids": []}},
        "SHUTDOWN": {"shutdown": {"executor_id": eid, "agent_id": aid}},
        "REQUEST": {"request": {}},
        "MESSAGE": {"message": {"agent_id": aid, "executor_id": eid, "data": "aGk="}},
        "ACKNOWLEDGE_OPERATION_STATUS": {"acknowledge_operation_status": {}},
        "RECONCILE_OPERATIONS": {"reconcile_operations": {}},
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["ACCEPT_INVERSE_OFFERS", "DECLINE_INVERSE_OFFERS",
                                  "ACKNOWLEDGE_OPERATION_STATUS", "RECONCILE_OPERATIONS",
                                  "SHUTDOWN", "REQUEST", "MESSAGE"])
def test_calls_without_effect_here(make_harness, kind, version):
    """Accepted with their body, refused without it; the operation calls are 1.6+."""
    harness = make_harness(version)
    stream = RawSubscription(harness.master.address).open()
    try:
        doc = {"type": kind, "framework_id": {"value": stream.framework_id}}
        known = kind in harness.master.mesos.call_types
        answer = call(harness.master.address, {**doc, **_bodies(stream)[kind]},
                      stream.stream_id)
        assert answer.status == (202 if known else 400), answer.body
        if known:
            answer = call(harness.master.address, doc, stream.stream_id)
            assert answer.status == 400
            assert answer.body.startswith(b"Failed to validate scheduler::Call: Expecting")
    finally:
        stream.close()


def test_accept_without_offers_drops_its_tasks(harness, subscribed):
    task = {"name": "t", "task_id": {"value": "t"}, "agent_id": {"value": "a"},
            "command": {"value": "true"}}
    doc = {"type": "ACCEPT", "framework_id": {"value": subscribed.framework_id},
           "accept": {"offer_ids": [], "operations": [
               {"type": "LAUNCH", "launch": {"task_infos": [task]}}]}}
    assert call(harness.master.address, doc, subscribed.stream_id).status == 202
    update = wait_until(lambda: [e for e in subscribed.events if e["type"] == "UPDATE"],
                      what="an update")[0]["update"]["status"]
    assert (update["state"], update["reason"]) == ("TASK_DROPPED", "REASON_INVALID_OFFERS")
    assert update["message"].endswith("No offers specified")


def test_subscribe_with_mismatched_framework_ids_is_a_bad_request(harness):
    info = {**FRAMEWORK_INFO, "id": {"value": "a"}}
    doc = {"type": "SUBSCRIBE", "framework_id": {"value": "b"},
           "subscribe": {"framework_info": info}}
    assert call(harness.master.address, doc).status == 400


CONVERT = b"Failed to convert JSON into Call protobuf: "
VALIDATE = b"Failed to validate scheduler::Call: "
ZERO_VERSION_UUID = base64.b64encode(bytes(16)).decode()


@pytest.mark.parametrize(("doc", "message"), [
    ({"type": "ACCEPT"}, VALIDATE + b"Expecting 'accept' to be present"),
    ({"type": "DECLINE"}, VALIDATE + b"Expecting 'decline' to be present"),
    ({"type": "KILL", "kill": {}}, CONVERT + b"Missing required fields: kill.task_id"),
    ({"type": "ACKNOWLEDGE", "acknowledge": {"task_id": {"value": "t"}}},
     CONVERT + b"Missing required fields: acknowledge.agent_id, acknowledge.uuid"),
    ({"type": "ACKNOWLEDGE", "acknowledge": {"task_id": {"value": "t"}, "agent_id": {
        "value": "a"}, "uuid": "short"}}, CONVERT + b"Failed to base64 decode bytes field"),
    ({"type": "ACKNOWLEDGE", "acknowledge": {"task_id": {"value": "t"}, "agent_id": {
        "value": "a"}, "uuid": ZERO_VERSION_UUID}}, VALIDATE + b"Not a valid UUID"),
    ({"type": "RECONCILE", "reconcile": {"tasks": [{}]}},
     CONVERT + b"Missing required fields: reconcile.tasks[0].task_id"),
    ({"type": "RECONCILE", "reconcile": {"tasks": {"task_id": {"value": "t"}}}}, CONVERT),
    ({"type": "ACCEPT", "accept": {"offer_ids": [{"value": "o"}], "filters": {
        "refuse_seconds": "soon"}}}, CONVERT),
])
def test_calls_missing_or_mistyping_fields_are_bad_requests(harness, subscribed, doc,
                                                            message):
    doc = {**doc, "framework_id": {"value": subscribed.framework_id}}
    answer = call(harness.master.address, doc, subscribed.stream_id)
    assert answer.status == 400, answer.body
    assert answer.body.startswith(message), answer.body


def test_scheduler_endpoint_only_takes_post(harness):
    answer = post(harness.master.address, b"", {}, method="GET")
    assert answer.status == 405 and answer.headers["Allow"] == "POST"


@pytest.fixture
def secured(tmp_path):
    options = MasterOptions(**{**FAST.__dict__, "principal": "calico", "secret": "s3cret"})
    h = MasterHarness(tmp_path, options)
    yield h
    h.close()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("authorization", [
    None, _basic("calico", "wrong"), _basic("other", "s3cret"), "Basic !!!", "Bearer token",
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
])
def test_authentication_required_when_configured(secured, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    stream = RawSubscription(secured.master.address, headers=headers).open()
    assert stream.status == 401
    answer = call(secured.master.address, {"type": "RECONCILE", "framework_id": {
        "value": "x"}}, **headers)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert not secured.master.frameworks


def test_driver_with_credentials_subscribes(secured):
    sched = RecordingScheduler()
    driver = secured.driver(sched, principal="calico", secret="s3cret")
    framework_id = sched.registered_id()
    assert secured.master.frameworks[framework_id].info["principal"] == "calico"
    driver.reconcileTasks([])
    agent = secured.add_agent()
    assert sched.take_offer(agent.id)


def test_principal_differing_from_the_credentials_is_refused(secured):
    info = {**FRAMEWORK_INFO, "principal": "someone-else"}
    stream = RawSubscription(secured.master.address,
                             headers={"Authorization": _basic("calico", "s3cret")}).open(info)
    assert stream.status == 400


# -- fuzzing ------------------------------------------------------------------------------

CALL_TYPES = ["ACCEPT", "DECLINE", "REVIVE", "SUPPRESS", "KILL", "ACKNOWLEDGE", "RECONCILE",
              "MESSAGE", "REQUEST", "SHUTDOWN", "UPDATE_FRAMEWORK", "TEARDOWN_X", "",
              "accept"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=3),
    max_leaves=8)


def _latest_offer(stream: RawSubscription) -> str:
    offers = [o["id"]["value"] for e in list(stream.events) if e["type"] == "OFFERS"
              for o in e["offers"]["offers"]]
    return offers[-1] if offers else "no-such-offer"


def _templates(framework_id: str, agent_id: str, offer_id: str) -> list[dict]:
    fid = {"value": framework_id}
    aid = {"value": agent_id}
    task = {"name": "t", "task_id": {"value": "t"}, "agent_id": aid,
            "command": {"value": "true", "uris": [{"value": "/nonexistent"}]},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1},
                           "role": "*"},
                          {"name": "ports", "type": "RANGES",
                           "ranges": {"range": [{"begin": 1025, "end": 1026}]}}],
            "health_check": {"type": "COMMAND", "command": {"value": "true"}}}
    return [
        {"type": "ACCEPT", "framework_id": fid, "accept": {
            "offer_ids": [{"value": offer_id}], "filters": {"refuse_seconds": 0},
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}]}},
        {"type": "DECLINE", "framework_id": fid, "decline": {
            "offer_ids": [{"value": "o"}], "filters": {"refuse_seconds": 0}}},
        {"type": "REVIVE", "framework_id": fid, "revive": {"roles": ["*"]}},
        {"type": "SUPPRESS", "framework_id": fid, "suppress": {"roles": ["*"]}},
        {"type": "KILL", "framework_id": fid, "kill": {
            "task_id": {"value": "t"}, "agent_id": aid,
            "kill_policy": {"grace_period": {"nanoseconds": 1}}}},
        {"type": "ACKNOWLEDGE", "framework_id": fid, "acknowledge": {
            "agent_id": aid, "task_id": {"value": "t"},
            "uuid": base64.b64encode(b"0123456789abcdef").decode()}},
        {"type": "RECONCILE", "framework_id": fid, "reconcile": {
            "tasks": [{"task_id": {"value": "t"}, "agent_id": aid}]}},
        {"type": "MESSAGE", "framework_id": fid, "message": {
            "agent_id": aid, "executor_id": {"value": "e"}, "data": "aGk="}},
    ]


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, prefix + (index,))
    return out


def _mutate(doc: object, path: tuple, value: object, delete: bool) -> object:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_calls_never_crash_the_master(harness, subscribed, data):
    agent_id = next(iter(harness.master.agents), None) or harness.add_agent().id
    # Launches get as far as the agent, whose fetcher then fails them: fuzzed command
    # strings never run.
    harness.master.faults.fetch_failures["*"] = 10**9
    templates = _templates(subscribed.framework_id, agent_id, _latest_offer(subscribed))
    doc = json.loads(json.dumps(data.draw(st.sampled_from(templates))))
    for _ in range(data.draw(st.integers(0, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        doc = _mutate(doc, path, data.draw(json_values), data.draw(st.booleans()))
    if data.draw(st.booleans()) and isinstance(doc, dict):
        doc["type"] = data.draw(st.sampled_from(CALL_TYPES))
    answer = call(harness.master.address, doc, subscribed.stream_id)
    assert answer.status in (202, 400, 403, 404), (answer.status, answer.body, doc)
    if answer.status == 202:
        assert answer.body == b""
    assert harness.get_json("/master/state")["id"] == harness.master.master_id

