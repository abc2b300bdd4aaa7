"""The scheduler's pymesos driver and agent listing against the master emulator in DC/OS
strict mode: every request needs `Authorization: token=<IAM auth token>`."""

import dataclasses
import json

import pytest
import requests

from framework.config.model import MesosSettings
from framework.dcos_auth import (
    LoginError,
    ServiceAccountCredentials,
    ServiceAccountSchedulerDriver,
    scheduler_driver,
)
from framework.master_api import MasterClient
from tests.auth.conftest import UID
from tests.auth.iam import TOKEN_LIFETIME_S
from tests.devcluster.harness import FAST, MasterHarness, RecordingScheduler
from tests.wait import wait_until

INFO = {"user": "root", "name": "calico", "hostname": "localhost", "checkpoint": True,
        "failover_timeout": 3600.0, "roles": ["*", "slave_public"],
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}]}


@pytest.fixture
def harness(tmp_path, iam):
    options = dataclasses.replace(FAST, authenticate_token=iam.principal_of)
    h = MasterHarness(tmp_path, options)
    h.add_agent()
    h.add_agent(public=True)
    yield h
    h.close()


def settings(harness, account=None, principal=None, secret=None) -> MesosSettings:
    return MesosSettings(master=harness.address, principal=principal, secret=secret,
                         service_account=account, roles=("*", "slave_public"),
                         failover_timeout_s=3600.0)


@pytest.fixture
def sched():
    return RecordingScheduler()


@pytest.fixture
def driver(harness, sched, account, credentials):
    d = scheduler_driver(sched, dict(INFO), settings(harness, account), credentials,
                         implicit_acknowledgements=False)
    harness.drivers.append(d)
    d.start()
    sched.registered_id()
    return d


def framework(harness):
    with harness.master.lock:
        (fw,) = harness.master.frameworks.values()
        return fw


def suppressed(harness) -> bool:
    return bool(framework(harness).suppressed_roles)


def test_the_driver_subscribes_and_calls_with_the_token(harness, driver, sched, iam):
    assert isinstance(driver, ServiceAccountSchedulerDriver)
    assert framework(harness).info["principal"] == UID  # strict mode: principal is the uid
    driver.suppressOffers()
    wait_until(lambda: suppressed(harness), what="SUPPRESS accepted")
    assert set(iam.presented) == {iam.latest_token()}
    assert len(iam.logins) == 1


def test_the_token_is_renewed_before_it_expires_without_reconnecting(
        harness, driver, sched, iam, clock):
    first = iam.latest_token()
    clock.advance(TOKEN_LIFETIME_S * 0.85)
    driver.suppressOffers()
    wait_until(lambda: suppressed(harness), what="SUPPRESS accepted")
    assert len(iam.logins) == 2
    assert iam.presented[-1] == iam.latest_token() != first
    assert sched.kinds("disconnected") == [] and len(sched.kinds("registered")) == 1


def test_a_resubscribe_after_the_token_expired_logs_in_first(harness, driver, sched, iam, clock):
    framework_id = sched.registered_id()
    clock.advance(TOKEN_LIFETIME_S)  # the first token has expired by now
    harness.master.drop_stream(framework_id)
    wait_until(lambda: sched.kinds("reregistered"), what="re-subscribed")
    assert len(iam.logins) == 2
    assert iam.presented[-1] == iam.latest_token()


def test_a_refused_login_is_raised_by_start_before_any_subscribe(harness, sched, account,
                                                                   iam, clock):
    wrong = dataclasses.replace(account, uid="not-an-account")
    credentials = ServiceAccountCredentials(wrong, clock=clock)
    d = scheduler_driver(sched, dict(INFO), settings(harness, wrong), credentials)
    with pytest.raises(LoginError, match="'not-an-account': HTTP 401 ERR_INVALID_CREDENTIALS"):
        d.start()
    assert d.aborted and iam.presented == [] and not harness.master.frameworks


def test_a_call_refused_with_401_is_sent_again_after_a_fresh_login(
        harness, driver, sched, iam):
    iam.revoke(iam.latest_token())
    driver.suppressOffers()  # 401, log in, sent again: no exception reaches the caller
    wait_until(lambda: suppressed(harness), what="SUPPRESS accepted")
    driver.reviveOffers()
    wait_until(lambda: not suppressed(harness), what="REVIVE accepted")
    assert len(iam.logins) == 2
    assert sched.kinds("disconnected") == [] and len(sched.kinds("registered")) == 1


def test_a_call_refused_again_after_the_fresh_login_raises(harness, driver, iam):
    real = iam.principal_of
    iam_refuses = dataclasses.replace(harness.master.options,
                                      authenticate_token=lambda token: None)
    harness.master.options = iam_refuses
    try:
        with pytest.raises(RuntimeError, match="401"):
            driver.suppressOffers()
    finally:
        harness.master.options = dataclasses.replace(iam_refuses, authenticate_token=real)
    assert len(iam.logins) == 2


def test_the_agent_list_uses_the_token_and_recovers_from_a_401(
        harness, driver, iam, account, credentials, config_for):
    client = MasterClient(harness.address, config_for(account), credentials)
    assert sorted(agent.role for agent in client.agents()) == ["private", "public"]
    iam.revoke(iam.latest_token())
    assert len(client.agents()) == 2
    assert len(iam.logins) == 2


def test_the_agent_list_without_credentials_is_refused(harness, account, config_for):
    assert MasterClient(harness.address, config_for(account)).agents() is None


SUBSCRIBE = json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": INFO}})


@pytest.mark.parametrize("authorization", [
    None, "token=", "token=not-a-token", "Bearer x", "Basic Y2FsaWNvLXNhOnNlY3JldA=="])
def test_the_master_refuses_requests_without_a_valid_token(harness, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    for method, path, body in (("POST", "/api/v1/scheduler", SUBSCRIBE),
                               ("GET", "/master/slaves", None),
                               ("GET", "/master/state", None)):
        resp = requests.request(method, f"http://{harness.address}{path}", data=body,
                                headers=headers, timeout=5)
        assert resp.status_code == 401, (path, authorization)
        assert resp.headers["WWW-Authenticate"] == "acsjwt"


def test_the_master_refuses_expired_and_revoked_tokens(harness, credentials, iam, clock):
    credentials.authorization()
    token = iam.latest_token()
    url = f"http://{harness.address}/master/slaves"
    assert requests.get(url, headers={"Authorization": f"token={token}"},
                        timeout=5).status_code == 200
    clock.advance(TOKEN_LIFETIME_S)
    assert requests.get(url, headers={"Authorization": f"token={token}"},
                        timeout=5).status_code == 401
    clock.advance(-TOKEN_LIFETIME_S)
    iam.revoke(token)
    assert requests.get(url, headers={"Authorization": f"token={token}"},
                        timeout=5).status_code == 401


def test_without_a_service_account_the_driver_uses_basic_auth(tmp_path, sched):
    options = dataclasses.replace(FAST, principal="calico", secret="s3cret")
    h = MasterHarness(tmp_path, options)
    try:
        d = scheduler_driver(sched, dict(INFO, principal="calico"),
                             settings(h, principal="calico", secret="s3cret"), None)
        h.drivers.append(d)
        assert not isinstance(d, ServiceAccountSchedulerDriver)
        d.start()
        sched.registered_id()
    finally:
        h.close()


def test_basic_and_token_auth_can_be_on_together(tmp_path, iam, credentials):
    options = dataclasses.replace(FAST, principal="ops", secret="pw",
                                  authenticate_token=iam.principal_of)
    h = MasterHarness(tmp_path, options)
    try:
        url = f"http://{h.address}/master/slaves"
        refused = requests.get(url, timeout=5)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == 'Basic realm="mesos", acsjwt'
        assert requests.get(url, auth=("ops", "pw"), timeout=5).status_code == 200
        assert requests.get(url, headers={"Authorization": credentials.authorization()},
                            timeout=5).status_code == 200
    finally:
        h.close()

