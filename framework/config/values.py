"""Parsers for single configuration values.

Each parser takes the raw string (from the environment or a command-line flag) and returns
the typed value, or raises `ValueError` with a sentence that says what was expected. They
read files only to check or load them and never write anything.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
Parser = Callable[[str], T]

DEFAULT_MESOS_PORT = 5050
REDACTED = "<redacted>"
MIN_TOKEN_LENGTH = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
AUTODETECT_PREFIXES = ("can-reach=", "interface=", "skip-interface=")
CLUSTER_STORE_SCHEMES = ("etcd", "consul", "zk")

# Every pattern is applied with fullmatch: `$` would also accept a trailing newline. Digits
# are ASCII only: Python's int() and float() also take other scripts' digits.
_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_NUMBER_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_COMMAND_RE = re.compile(r"[A-Za-z0-9_./+][A-Za-z0-9_./+-]*")  # never an option like -c
_FELIX_NAME_RE = re.compile(r"FELIX_[A-Z0-9_]+")
_PRINCIPAL_RE = re.compile(r"[\x21-\x7e]+")

# Docker image references, from the grammar of docker/distribution's reference package
# (moby/moby v20.10.0, vendor/github.com/docker/distribution/reference/reference.go and
# regexp.go). Go's RE2 never backtracks; here the optional separator `[-]*` is written as
# `-+` (an empty separator only joins two alphanumeric runs) so no pattern nests
# quantifiers ambiguously, and `\w` is spelled out as ASCII.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE_RE = re.compile(rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
                       rf"(?::{_TAG})?(?:@{_DIGEST})?")
NAME_TOTAL_LENGTH_MAX = 255  # reference.go: NameTotalLengthMax


def boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def present(raw: str) -> bool:
    """True for any value: only whether the variable is set counts (SDK_UNINSTALL)."""
    return True


def integer(minimum: int, maximum: int | None = None) -> Parser[int]:
    def parse(raw: str) -> int:
        if not _INTEGER_RE.fullmatch(raw.strip()):
            raise ValueError(f"expected a whole number, got {raw!r}")
        value = int(raw.strip())
        _check_range(value, minimum, maximum)
        return value

    return parse


def number(minimum: float, maximum: float | None = None, *, exclusive: bool = False
           ) -> Parser[float]:
    def parse(raw: str) -> float:
        if not _NUMBER_RE.fullmatch(raw.strip()):
            raise ValueError(f"expected a number, got {raw!r}")
        value = float(raw.strip())
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {raw!r}")
        if exclusive and value <= minimum:
            raise ValueError(f"must be greater than {minimum:g}, got {value:g}")
        _check_range(value, minimum, maximum)
        return value

    return parse


def _check_range(value: float, minimum: float, maximum: float | None) -> None:
    if value < minimum:
        raise ValueError(f"must be at least {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"must be at most {maximum:g}, got {value:g}")


def mesos_master(raw: str) -> str:
    """Return the master address in the form pymesos takes: `zk://...` or `host:port`."""
    value = raw.strip()
    if value.startswith(("zk://", "zoo://")):
        rest = value.split("://", 1)[1]
        hosts, _, path = rest.partition("/")
        if not hosts or not path:
            raise ValueError(
                f"expected zk://host:port[,host:port...]/path, got {raw!r}")
        for host in hosts.split(","):
            _host_port(host, raw)
        return value
    if value.startswith("http://"):
        parts = urlsplit(value)
        if parts.path not in ("", "/") or parts.query or not parts.netloc:
            raise ValueError(f"expected http://host:port with no path, got {raw!r}")
        value = parts.netloc
    elif value.startswith("https://"):
        raise ValueError(f"give host:port and CALICO_MESOS_TLS=true for a master that takes "
                         f"https, got {raw!r}")
    elif "://" in value:
        raise ValueError(f"expected host:port, http://host:port or zk://..., got {raw!r}")
    if "," in value:
        raise ValueError(
            "several masters need ZooKeeper: use zk://host:port,.../mesos, "
            f"got {raw!r}")
    host, port = _host_port(value, raw)
    return f"{host}:{port}"


def _host_port(text: str, raw: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, str(DEFAULT_MESOS_PORT)
    if not host or not _is_host(host):
        raise ValueError(f"{text!r} is not a valid host[:port] in {raw!r}")
    if not port_text.isascii() or not port_text.isdigit():
        raise ValueError(f"port {port_text!r} is not a number in {raw!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range in {raw!r}")
    return host, port


def _is_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.fullmatch(host))


def hostname(raw: str) -> str:
    value = raw.strip()
    if not _is_host(value):
        raise ValueError(f"expected a host name or IP address, got {raw!r}")
    return value


def domain(raw: str) -> str:
    """A DNS domain to look SRV records up in, such as etcd.mesos (not an IP address)."""
    value = raw.strip().rstrip(".")
    if not _HOSTNAME_RE.fullmatch(value) or _is_ip(value):
        raise ValueError(f"expected a DNS domain such as etcd.mesos, got {raw!r}")
    return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def service_name(raw: str) -> str:
    value = raw.strip()
    if not _NAME_RE.fullmatch(value):
        raise ValueError(
            "expected 1-63 lowercase letters, digits or '-', starting and ending with a "
            f"letter or digit, got {raw!r}")
    return value


def roles(raw: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in raw.split(","))
    if not items or any(not item for item in items):
        raise ValueError(f"expected a comma-separated list of roles, got {raw!r}")
    for item in items:
        if item in (".", "..") or item.startswith("-") or any(c.isspace() for c in item):
            raise ValueError(f"{item!r} is not a valid Mesos role")
        if item.startswith("/") or item.endswith("/") or "//" in item:
            raise ValueError(f"{item!r} is not a valid Mesos role")
    if len(set(items)) != len(items):
        raise ValueError(f"roles must not repeat, got {raw!r}")
    return items


def url(schemes: tuple[str, ...]) -> Parser[str]:
    """A URL with one of `schemes`. Credentials inside it are refused: URLs travel in task
    arguments, daemon.json and logs, which Mesos state and operators can read."""

    def parse(raw: str) -> str:
        value = raw.strip()
        parts = urlsplit(value)
        if (parts.scheme not in schemes or not parts.netloc
                or any(c.isspace() or not c.isprintable() for c in value)):
            allowed = " or ".join(f"{scheme}://" for scheme in schemes)
            raise ValueError(f"expected a URL starting with {allowed}, got {redact_url(raw)!r}")
        if "@" in parts.netloc:
            raise ValueError(f"credentials in a URL are not supported (they would show in task "
                             f"arguments and logs), got {redact_url(value)!r}")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValueError(f"bad port in {value!r}") from None
        return value

    return parse


def redact_url(text: str) -> str:
    """`text` safe to log: a password in the URL's user part and its query values hidden."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{REDACTED}@{host}"
    query = "&".join(f"{item.partition('=')[0]}={REDACTED}" if "=" in item else item
                     for item in parts.query.split("&")) if parts.query else ""
    return parts._replace(netloc=netloc, query=query).geturl()


def etcd_endpoints(raw: str) -> tuple[str, ...]:
    parse_one = url(("http", "https"))
    items = tuple(item.strip() for item in raw.split(","))
    if any(not item for item in items):
        raise ValueError(f"expected comma-separated http(s)://host:port URLs, got {raw!r}")
    endpoints = tuple(parse_one(item) for item in items)
    for endpoint in endpoints:
        parts = urlsplit(endpoint)
        if parts.path not in ("", "/") or parts.query or parts.fragment or "#" in endpoint:
            raise ValueError(f"an etcd endpoint is scheme://host:port only, got {endpoint!r}")
        if not parts.hostname or not _is_host(parts.hostname):
            raise ValueError(f"{parts.hostname!r} is not a host name or IP in {endpoint!r}")
    if len(set(endpoints)) != len(endpoints):
        raise ValueError(f"etcd endpoints must not repeat, got {raw!r}")
    return endpoints


def cluster_store(raw: str) -> str:
    return url(CLUSTER_STORE_SCHEMES)(raw)


def sha256(raw: str) -> str:
    value = raw.strip().lower()
    if not _SHA256_RE.fullmatch(value):
        raise ValueError(f"expected 64 hexadecimal digits, got {raw!r}")
    return value


def docker_image(raw: str) -> str:
    value = raw.strip()
    match = _IMAGE_RE.fullmatch(value)
    if match is None or len(match.group("name")) > NAME_TOTAL_LENGTH_MAX:
        raise ValueError(f"expected a Docker image such as calico/node:v2.6.12, got {raw!r}")
    return value


def cidr(raw: str) -> str:
    try:
        return str(ipaddress.ip_network(raw.strip(), strict=True))
    except ValueError as err:
        raise ValueError(f"expected a network such as 192.168.0.0/16: {err}") from None


def ip_autodetection_method(raw: str) -> str:
    value = raw.strip()
    if value == "first-found":
        return value
    for prefix in AUTODETECT_PREFIXES:
        if value.startswith(prefix) and len(value) > len(prefix):
            argument = value[len(prefix):]
            if prefix == "can-reach=":
                if not _is_host(argument):
                    raise ValueError(f"can-reach= needs a host or IP, got {argument!r}")
            else:
                try:
                    re.compile(argument)
                except re.error as err:
                    raise ValueError(f"{prefix} needs a valid regex: {err}") from None
            return value
    raise ValueError(
        "expected first-found, can-reach=<host>, interface=<regex> or "
        f"skip-interface=<regex>, got {raw!r}")


def _finite_literal(text: str) -> str:
    if not math.isfinite(float(text)):
        raise ValueError(f"{text} is not a finite number")
    return text


def _no_constant(name: str) -> str:
    raise ValueError(f"{name} is not a number Felix takes")


def felix_env(raw: str) -> tuple[tuple[str, str], ...]:
    """A JSON object of FELIX_* variables for calico/node, as sorted (name, value) pairs.

    Numbers keep the text they were written with (1440 stays "1440", 0.5 stays "0.5");
    values become environment variables, so they hold no control characters."""
    try:
        data = json.loads(raw, parse_int=str, parse_float=_finite_literal,
                          parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise ValueError(f"expected a JSON object of FELIX_* settings: {err}") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of FELIX_* settings")
    pairs = []
    for name, value in data.items():
        if not _FELIX_NAME_RE.fullmatch(name):
            raise ValueError(f"{name!r} is not a FELIX_* variable name")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, str):
            raise ValueError(f"{name} must be a string, number or boolean")
        if not value.isprintable():
            raise ValueError(f"{name} holds a control character (newline, NUL, ...)")
        pairs.append((name, value))
    return tuple(sorted(pairs))


def command_name(raw: str) -> str:
    value = raw.strip()
    if not _COMMAND_RE.fullmatch(value):
        raise ValueError("expected a program name or path without spaces, not starting "
                         f"with '-', got {raw!r}")
    return value


def ascii_principal(raw: str) -> str:
    value = raw.strip()
    if not _PRINCIPAL_RE.fullmatch(value):
        raise ValueError("expected printable ASCII without spaces")
    return value


def principals(raw: str) -> tuple[str, ...]:
    """A comma-separated list of DC/OS uids (or Mesos principals)."""
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names:
        raise ValueError(f"expected comma-separated names, got {raw!r}")
    return tuple(ascii_principal(name) for name in names)


def ascii_secret(raw: str) -> str:
    if not raw or not raw.isascii() or any(c in raw for c in "\r\n\0"):
        raise ValueError("expected a non-empty single line of ASCII")
    return raw


def token(raw: str) -> str:
    """An operator token: printable ASCII, so every HTTP client can send it in a header."""
    value = raw.strip()
    if len(value) < MIN_TOKEN_LENGTH or not _PRINCIPAL_RE.fullmatch(value):
        raise ValueError(f"expected at least {MIN_TOKEN_LENGTH} printable ASCII characters "
                         "without spaces")
    return value


def private_key(raw: str) -> str:
    """A PEM private key, bare or inside a DC/OS service-account credential JSON."""
    value = raw.strip()
    if value.startswith("{"):
        try:
            value = str(json.loads(value)["private_key"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError("expected a service-account credential JSON with "
                             "a private_key") from None
    if not (value.startswith("-----BEGIN ") and "PRIVATE KEY-----" in value):
        raise ValueError("expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    from framework.dcos_auth import DcosAuthError, load_private_key

    try:
        load_private_key(value + "\n")
    except DcosAuthError as err:
        raise ValueError(str(err).removeprefix("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY: ")) from None
    return value + "\n"


def existing_file(raw: str) -> str:
    path = Path(raw.strip())
    if not path.is_absolute():
        raise ValueError(f"expected an absolute path, got {raw!r}")
    if not path.is_file():
        raise ValueError(f"no such file: {raw.strip()}")
    return str(path)


def _read_file(raw: str) -> tuple[str, bytes]:
    path = existing_file(raw)
    try:
        return path, Path(path).read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror or err}") from None


def pem_certificates(raw: str) -> str:
    """A readable PEM file of X.509 certificates (a CA bundle or a client certificate).

    gRPC takes any bytes here and then fails every connection as "unavailable", so a file
    that holds no certificate is refused now, with its name."""
    from cryptography import x509

    path, data = _read_file(raw)
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{path} holds no PEM certificate "
                         "(-----BEGIN CERTIFICATE-----)") from None
    return path


def pem_private_key(raw: str) -> str:
    """A readable, unencrypted PEM private key (PKCS#1, PKCS#8 or SEC1)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    path, data = _read_file(raw)
    try:
        serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError(f"{path} is encrypted; give the key without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(f"{path} holds no usable PEM private key") from None
    return path


def certificate_matches_key(cert_path: str, key_path: str) -> bool:
    """True when the first certificate in `cert_path` is for the key in `key_path`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())[0]
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def file_content(check: Parser[str]) -> Parser[str]:
    """Read a secret from a file, then check it like the value itself."""

    def parse(raw: str) -> str:
        path = existing_file(raw)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"cannot read {path}: {err}") from None
        return check(text.rstrip("\r\n"))

    return parse


def bind_addresses(raw: str) -> tuple[str, ...]:
    """One IP address, or several separated by commas, to listen on."""
    items = [item.strip() for item in raw.split(",")]
    try:
        addresses = tuple(str(ipaddress.ip_address(item)) for item in items)
    except ValueError:
        raise ValueError(f"expected IP addresses such as 0.0.0.0 or 127.0.0.1,10.0.0.5, "
                         f"got {raw!r}") from None
    if len(set(addresses)) != len(addresses):
        raise ValueError(f"addresses must not repeat, got {raw!r}")
    return addresses


def log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return value
