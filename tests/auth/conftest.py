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


@pytest.fixture
def config_for(tmp_path):
    """A validated scheduler Config using `account` (its key and login URL)."""
    from framework.config import load

    def make(account, **env):
        base = {"MESOS_MASTER": "127.0.0.1:5050", "CALICO_BIND_ADDRESS": "127.0.0.1",
                "PORT0": "0", "CALICO_SERVICE_ACCOUNT_UID": account.uid,
                "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": account.private_key,
                "CALICO_DCOS_LOGIN_URL": account.login_url}
        return load([], {**base, **env})
    return make
