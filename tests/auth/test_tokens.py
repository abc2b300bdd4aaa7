"""Login-token signing and key checks, verified with the account's public key."""

import base64
import json

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from framework.config.model import ServiceAccount
from framework.dcos_auth import (
    DEFAULT_TOKEN_LIFETIME_S,
    LOGIN_TOKEN_LIFETIME_S,
    REFRESH_AT_FRACTION,
    DcosAuthError,
    ServiceAccountKeyError,
    auth_token,
    load_private_key,
    login_token,
    service_account_credentials,
)
from tests.auth.conftest import UID, pem

NOW = 1_700_000_000.0


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_login_token_is_rs256_with_uid_and_exp_and_verifies_with_the_public_key(account_key):
    token = login_token(UID, load_private_key(pem(account_key)), NOW)
    header, payload, signature = token.split(".")
    assert json.loads(_b64(header)) == {"alg": "RS256", "typ": "JWT"}
    assert json.loads(_b64(payload)) == {"uid": UID, "exp": int(NOW + LOGIN_TOKEN_LIFETIME_S)}
    account_key.public_key().verify(_b64(signature), f"{header}.{payload}".encode(),
                                    padding.PKCS1v15(), hashes.SHA256())


def test_a_login_token_does_not_verify_with_another_key(account_key, iam_key):
    token = login_token(UID, load_private_key(pem(account_key)), NOW)
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidSignature):
        iam_key.public_key().verify(_b64(signature), f"{header}.{payload}".encode(),
                                    padding.PKCS1v15(), hashes.SHA256())
    tampered = f"{header}.{payload[:-2]}xx.{signature}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered, account_key.public_key(), algorithms=["RS256"],
                   options={"verify_exp": False})


def test_pkcs1_rsa_keys_load_too(account_key):
    traditional = account_key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.TraditionalOpenSSL,
                                            serialization.NoEncryption()).decode()
    assert traditional.startswith("-----BEGIN RSA PRIVATE KEY-----")
    key = load_private_key(traditional)
    assert key.private_numbers() == account_key.private_numbers()


BROKEN_PEM = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize("why, make", [
    ("garbage inside the PEM armour", lambda k: BROKEN_PEM),
    ("truncated key", lambda k: pem(k)[:400] + "\n-----END PRIVATE KEY-----\n"),
    ("passphrase-protected key", lambda k: k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")).decode()),
])
def test_unusable_keys_are_reported_with_the_setting_name(account_key, why, make):
    with pytest.raises(ServiceAccountKeyError) as err:
        load_private_key(make(account_key))
    assert str(err.value).startswith("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY: not a usable")


def test_a_non_rsa_key_is_refused_because_dcos_needs_rs256():
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ServiceAccountKeyError, match="needs an RSA key"):
        load_private_key(pem(key))


def test_credentials_check_the_key_when_built_before_any_login():
    account = ServiceAccount(UID, BROKEN_PEM, "http://127.0.0.1:9/acs/api/v1/auth/login")
    with pytest.raises(DcosAuthError, match="CALICO_SERVICE_ACCOUNT_PRIVATE_KEY"):
        service_account_credentials(account)
    assert service_account_credentials(None) is None


def test_auth_token_expiry_comes_from_its_exp_claim(iam_key):
    value = jwt.encode({"uid": UID, "exp": int(NOW) + 1000}, iam_key, algorithm="RS256")
    token = auth_token(value, NOW)
    assert token.expires_at == NOW + 1000
    assert token.header == f"token={value}"
    assert not token.refresh_due(NOW + 1000 * REFRESH_AT_FRACTION - 1)
    assert token.refresh_due(NOW + 1000 * REFRESH_AT_FRACTION)
    assert not token.expired(NOW + 999)
    assert token.expired(NOW + 1000)


@pytest.mark.parametrize("value", ["opaque-token", "a.b.c", jwt.encode({"uid": UID}, "k" * 32)])
def test_a_token_without_a_readable_exp_gets_the_dcos_default_lifetime(value):
    assert auth_token(value, NOW).expires_at == NOW + DEFAULT_TOKEN_LIFETIME_S
