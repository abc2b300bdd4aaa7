"""DC/OS users' tokens verified with the IAM's public keys (JWKS): what is accepted, what is
refused and why, and how the keys are fetched again."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from framework.dcos_users import REFETCH_MIN_S, DcosUserTokens
from web import TokenRejectedError, UserCheckUnavailableError


@pytest.fixture
def users(iam, clock):
    return DcosUserTokens(iam.jwks_url, clock=clock)


def test_a_user_token_names_its_user_and_the_keys_are_read_once(users, iam):
    assert users.verify(iam.user_token("alice")) == "alice"
    assert users.verify(iam.user_token("bob")) == "bob"
    assert iam.jwks_reads == 1


def test_a_service_account_token_without_key_id_is_checked_against_the_keys(users, iam,
                                                                             credentials):
    header = credentials.authorization()
    assert users.verify(header.removeprefix("token=")) == "calico-sa"


def _forged(claims: dict, **kwargs) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, stranger, algorithm="RS256", **kwargs)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda iam: "not-a-jwt", "not a JWT"),
    (lambda iam: _forged({"uid": "alice", "exp": time.time() + 60},
                         headers={"kid": iam.key_id}), "Signature verification failed"),
    (lambda iam: jwt.encode({"uid": "alice", "exp": time.time() + 60}, "s" * 32,
                            algorithm="HS256"), "signed with 'HS256', not RS256"),
    (lambda iam: jwt.encode({"uid": "alice", "exp": time.time() + 60}, None,
                            algorithm="none"), "signed with 'none'"),
    (lambda iam: iam.user_token("alice", lifetime_s=-120), "Signature has expired"),
    (lambda iam: jwt.encode({"uid": "alice"}, iam.signing_key, algorithm="RS256"),
     'Token is missing the "exp" claim'),
    (lambda iam: jwt.encode({"sub": "alice", "exp": time.time() + 60}, iam.signing_key,
                            algorithm="RS256"), 'Token is missing the "uid" claim'),
    (lambda iam: jwt.encode({"uid": "a\nb", "exp": time.time() + 60}, iam.signing_key,
                            algorithm="RS256"), "uid is not a user name"),
])
def test_tokens_the_iam_did_not_issue_or_that_ended_are_refused(users, iam, make, reason):
    with pytest.raises(TokenRejectedError, match=reason):
        users.verify(make(iam))


def test_only_the_listed_users_may_act(iam, clock):
    users = DcosUserTokens(iam.jwks_url, ("alice",), clock=clock)
    assert users.verify(iam.user_token("alice")) == "alice"
    with pytest.raises(TokenRejectedError, match="'bob' is not one of this service's operators"):
        users.verify(iam.user_token("bob"))


def test_a_rotated_key_is_fetched_when_a_token_names_it(users, iam, clock):
    users.verify(iam.user_token("alice"))
    iam.rotate(rsa.generate_private_key(public_exponent=65537, key_size=2048), "iam-key-2")
    assert users.verify(iam.user_token("alice")) == "alice"
    assert iam.jwks_reads == 2
    # An unknown key id does not make every request fetch the keys again.
    for _ in range(3):
        with pytest.raises(TokenRejectedError, match="does not list"):
            users.verify(_forged({"uid": "x", "exp": time.time() + 60},
                                 headers={"kid": "made-up"}))
    assert iam.jwks_reads == 2
    clock.advance(REFETCH_MIN_S)
    with pytest.raises(TokenRejectedError):
        users.verify(_forged({"uid": "x", "exp": time.time() + 60}, headers={"kid": "made-up"}))
    assert iam.jwks_reads == 3


def test_an_unreachable_iam_is_unavailable_not_a_refusal(iam, clock):
    users = DcosUserTokens("http://127.0.0.1:9/acs/api/v1/auth/jwks", clock=clock,
                           timeout_s=2.0)
    with pytest.raises(UserCheckUnavailableError, match="cannot read the IAM's public keys"):
        users.verify(iam.user_token("alice"))


def test_the_keys_are_read_with_the_schedulers_service_account(iam, clock, credentials):
    from framework.dcos_auth import TokenAuth

    users = DcosUserTokens(iam.jwks_url, clock=clock, auth=TokenAuth(credentials))
    assert users.verify(iam.user_token("alice")) == "alice"
    assert iam.jwks_authorizations == [f"token={iam.latest_token()}"]
