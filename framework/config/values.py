"""Parsers for single configuration values.

Each parser takes the raw string (from the environment or a command-line flag) and returns
the typed value, or raises `ValueError` with a sentence that says what was expected. They
read files only to check or load them and never write anything.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
Parser = Callable[[str], T]

DEFAULT_MESOS_PORT = 5050
MIN_TOKEN_LENGTH = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
AUTODETECT_PREFIXES = ("can-reach=", "interface=", "skip-interface=")
CLUSTER_STORE_SCHEMES = ("etcd", "consul", "zk")

_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*[A-Za-z0-9_]$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_COMMAND_RE = re.compile(r"^[A-Za-z0-9_./+-]+$")
_FELIX_NAME_RE = re.compile(r"^FELIX_[A-Z0-9_]+$")
_PRINCIPAL_RE = re.compile(r"^[\x21-\x7e]+$")


def boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def integer(minimum: int, maximum: int | None = None) -> Parser[int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        _check_range(value, minimum, maximum)
        return value

    return parse


def number(minimum: float, maximum: float | None = None, *, exclusive: bool = False
           ) -> Parser[float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
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
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port {port_text!r} is not a number in {raw!r}") from None
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
        return bool(_HOSTNAME_RE.match(host))


def hostname(raw: str) -> str:
    value = raw.strip()
    if not _is_host(value):
        raise ValueError(f"expected a host name or IP address, got {raw!r}")
    return value


def domain(raw: str) -> str:
    """A DNS domain to look SRV records up in, such as etcd.mesos (not an IP address)."""
    value = raw.strip().rstrip(".")
    if not _HOSTNAME_RE.match(value) or _is_ip(value):
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
    if not _NAME_RE.match(value):
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
    def parse(raw: str) -> str:
        value = raw.strip()
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc or any(c.isspace() for c in value):
            allowed = " or ".join(f"{scheme}://" for scheme in schemes)
            raise ValueError(f"expected a URL starting with {allowed}, got {raw!r}")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValueError(f"bad port in {raw!r}") from None
        return value

    return parse


def etcd_endpoints(raw: str) -> tuple[str, ...]:
    parse_one = url(("http", "https"))
    items = tuple(item.strip() for item in raw.split(","))
    if any(not item for item in items):
        raise ValueError(f"expected comma-separated http(s)://host:port URLs, got {raw!r}")
    endpoints = tuple(parse_one(item) for item in items)
    for endpoint in endpoints:
        if urlsplit(endpoint).path not in ("", "/"):
            raise ValueError(f"an etcd endpoint has no path, got {endpoint!r}")
    if len(set(endpoints)) != len(endpoints):
        raise ValueError(f"etcd endpoints must not repeat, got {raw!r}")
    return endpoints


def cluster_store(raw: str) -> str:
    return url(CLUSTER_STORE_SCHEMES)(raw)


def sha256(raw: str) -> str:
    value = raw.strip().lower()
    if not _SHA256_RE.match(value):
        raise ValueError(f"expected 64 hexadecimal digits, got {raw!r}")
    return value


def docker_image(raw: str) -> str:
    value = raw.strip()
    if not _IMAGE_RE.match(value) or "//" in value or "://" in value:
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


def felix_env(raw: str) -> tuple[tuple[str, str], ...]:
    """A JSON object of FELIX_* variables for calico/node, as sorted (name, value) pairs."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"expected a JSON object of FELIX_* settings: {err}") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of FELIX_* settings")
    pairs = []
    for name, value in data.items():
        if not _FELIX_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a FELIX_* variable name")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            raise ValueError(f"{name} must be a string, number or boolean")
        pairs.append((name, value))
    return tuple(sorted(pairs))


def command_name(raw: str) -> str:
    value = raw.strip()
    if not _COMMAND_RE.match(value):
        raise ValueError(f"expected a program name or path without spaces, got {raw!r}")
    return value


def ascii_principal(raw: str) -> str:
    value = raw.strip()
    if not _PRINCIPAL_RE.match(value):
        raise ValueError("expected printable ASCII without spaces")
    return value


def ascii_secret(raw: str) -> str:
    if not raw or not raw.isascii() or any(c in raw for c in "\r\n\0"):
        raise ValueError("expected a non-empty single line of ASCII")
    return raw


def token(raw: str) -> str:
    value = raw.strip()
    if len(value) < MIN_TOKEN_LENGTH or any(c.isspace() for c in value):
        raise ValueError(f"expected at least {MIN_TOKEN_LENGTH} characters without spaces")
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


def bind_address(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise ValueError(f"expected an IP address such as 0.0.0.0, got {raw!r}") from None


def log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return value
