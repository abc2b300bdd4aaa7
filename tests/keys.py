"""Real keys and certificates for tests: a usable service-account key, and TLS files."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@functools.cache
def service_account_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode().strip()


@dataclass(frozen=True)
class TlsFiles:
    ca: str
    cert: str
    key: str
    other_key: str  # a valid key that belongs to no certificate here


@functools.cache
def _tls_pems() -> tuple[bytes, bytes, bytes, bytes]:
    """A CA, a client certificate it signed, that certificate's key, and a stray key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calico-dcos test CA")])
    client_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calico-dcos")])

    def certificate(subject, key, issuer, signer, ca: bool) -> bytes:
        built = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                 .public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - datetime.timedelta(days=1))
                 .not_valid_after(now + datetime.timedelta(days=30))
                 .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                 .sign(signer, hashes.SHA256()))
        return built.public_bytes(serialization.Encoding.PEM)

    def pem(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    return (certificate(ca_name, ca_key, ca_name, ca_key, True),
            certificate(client_name, client_key, ca_name, ca_key, False),
            pem(client_key), pem(ec.generate_private_key(ec.SECP256R1())))


def write_tls_files(directory: Path) -> TlsFiles:
    """Real PEM files (as config validation reads them) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in zip(("ca.pem", "cert.pem", "key.pem", "other-key.pem"), _tls_pems(),
                          strict=True):
        (directory / name).write_bytes(data)
        paths.append(str(directory / name))
    return TlsFiles(*paths)
