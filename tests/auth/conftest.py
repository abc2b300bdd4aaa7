import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from framework.config.model import ServiceAccount
from framework.dcos_auth import ServiceAccountCredentials
from tests.auth.iam import Clock, IamServer

UID = "calico-sa"


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="session")
def account_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def iam_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def iam(iam_key, account_key, clock):
    server = IamServer(iam_key, clock).start()
    server.add_account(UID, account_key.public_key())
    yield server
    server.stop()


@pytest.fixture
def account(account_key, iam):
    return ServiceAccount(uid=UID, private_key=pem(account_key), login_url=iam.login_url)


@pytest.fixture
def credentials(account, clock):
    return ServiceAccountCredentials(account, clock=clock, sleep=lambda _s: None)
