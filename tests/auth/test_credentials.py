"""Logging in to a real (tiny) IAM over HTTP: caching, renewal before expiry, after a 401,
and the errors a refused or unreachable login gives."""

import socket
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from framework.config.model import ServiceAccount
from framework.dcos_auth import (
    LOGIN_ATTEMPTS,
    RENEW_RETRY_S,
    LoginError,
    ServiceAccountCredentials,
)
from tests.auth.conftest import UID, pem
from tests.auth.iam import TOKEN_LIFETIME_S


def test_login_presents_a_signed_login_token_and_sends_the_issued_token(credentials, iam):
    header = credentials.authorization()
    assert header == f"token={iam.latest_token()}"
    assert iam.principal_of(iam.latest_token()) == UID
    assert [claims["uid"] for claims in iam.logins] == [UID]


def test_the_token_is_reused_until_most_of_its_lifetime_has_passed(credentials, iam, clock):
    first = credentials.authorization()
    clock.advance(TOKEN_LIFETIME_S * 0.5)
    assert credentials.authorization() == first
    assert len(iam.logins) == 1
    clock.advance(TOKEN_LIFETIME_S * 0.35)
    second = credentials.authorization()
    assert second != first
    assert len(iam.logins) == 2
    assert iam.principal_of(first[len("token="):]) == UID  # renewed before it expired


def test_concurrent_callers_share_one_login(credentials, iam):
    headers = []
    threads = [threading.Thread(target=lambda: headers.append(credentials.authorization()))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(headers)) == 1
    assert len(iam.logins) == 1


def test_a_rejected_token_is_replaced_at_the_next_use(credentials, iam):
    first = credentials.authorization()
    credentials.rejected(first)
    second = credentials.authorization()
    assert second != first
    credentials.rejected(first)  # a late rejection of the old token keeps the new one
    assert credentials.authorization() == second
    assert len(iam.logins) == 2


def test_a_failed_early_renewal_keeps_the_valid_token_and_retries_later(credentials, iam, clock):
    first = credentials.authorization()
    clock.advance(TOKEN_LIFETIME_S * 0.9)
    iam.fail_next(*[503] * LOGIN_ATTEMPTS)
    assert credentials.authorization() == first
    assert credentials.authorization() == first  # no new attempt right away
    assert not iam.failures
    clock.advance(RENEW_RETRY_S)
    assert credentials.authorization() != first
    assert len(iam.logins) == 2


def test_server_errors_are_retried_with_backoff(account, clock, iam):
    pauses = []
    credentials = ServiceAccountCredentials(account, clock=clock, sleep=pauses.append)
    iam.fail_next(*[502] * (LOGIN_ATTEMPTS - 1))
    assert credentials.authorization() == f"token={iam.latest_token()}"
    assert pauses == [1.0, 2.0][:LOGIN_ATTEMPTS - 1]


def test_an_iam_that_keeps_failing_gives_a_login_error(credentials, iam):
    iam.fail_next(*[503] * LOGIN_ATTEMPTS)
    with pytest.raises(LoginError, match=f"failed {LOGIN_ATTEMPTS} times; last: HTTP 503"):
        credentials.authorization()


def test_an_expired_token_is_not_used_when_the_iam_is_away(credentials, iam, clock):
    credentials.authorization()
    clock.advance(TOKEN_LIFETIME_S)
    iam.fail_next(*[503] * LOGIN_ATTEMPTS)
    with pytest.raises(LoginError):
        credentials.authorization()


def test_a_key_the_iam_does_not_know_is_refused_at_once(account, clock, iam):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = ServiceAccount(UID, pem(stranger), account.login_url)
    pauses = []
    credentials = ServiceAccountCredentials(wrong, clock=clock, sleep=pauses.append)
    with pytest.raises(LoginError) as err:
        credentials.authorization()
    assert "refused the login of service account 'calico-sa': HTTP 401 " \
           "ERR_INVALID_CREDENTIALS" in str(err.value)
    assert pauses == []
    assert iam.logins == []


def test_an_unknown_account_is_refused(account, clock, iam):
    other = ServiceAccount("someone-else", account.private_key, account.login_url)
    with pytest.raises(LoginError, match="'someone-else': HTTP 401"):
        ServiceAccountCredentials(other, clock=clock).authorization()


def test_an_unreachable_iam_gives_a_login_error(account, clock):
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/acs/api/v1/auth/login"
        unreachable = ServiceAccount(UID, account.private_key, url)
        credentials = ServiceAccountCredentials(unreachable, clock=clock,
                                                sleep=lambda _s: None, timeout_s=2.0)
        with pytest.raises(LoginError, match=f"at {url} failed {LOGIN_ATTEMPTS} times"):
            credentials.authorization()
