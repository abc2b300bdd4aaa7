"""The agent's own IP: DC/OS detect_ip, else the source address of a route to a master."""

import ipaddress
import os
import socket
from typing import List, NamedTuple, Optional

from installer.errors import BadInput, HostError
from installer.host import Host

DETECT_IP = "/opt/mesosphere/bin/detect_ip"
DEFAULT_MASTER_PORT = 5050


class Endpoint(NamedTuple):
    host: str
    port: int


def parse_endpoints(text: str, default_port: int = DEFAULT_MASTER_PORT) -> List[Endpoint]:
    """Endpoints of lists like `zk://a:2181,b/mesos`, `10.0.0.1:5050,[fd00::1]:5050`, `fd00::2`."""
    spec = text.strip()
    if "://" in spec:
        spec = spec.split("://", 1)[1]
    spec = spec.split("/", 1)[0]
    endpoints = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        endpoints.append(_parse_one(item, default_port))
    if not endpoints:
        raise BadInput("no master address in {!r}".format(text))
    return endpoints


def _parse_one(item: str, default_port: int) -> Endpoint:
    host, port = item, ""
    if item.startswith("["):
        host, sep, rest = item[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise BadInput("malformed address {!r}".format(item))
        port = rest[1:]
    elif item.count(":") == 1:
        host, port = item.split(":")
    if not host:
        raise BadInput("malformed address {!r}".format(item))
    if not port:
        return Endpoint(host, default_port)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput("malformed port in {!r}".format(item))
    return Endpoint(host, int(port))


def valid_ip(text: str) -> Optional[str]:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def route_source(endpoint: Endpoint) -> str:
    """The local address the kernel would use to reach endpoint (UDP connect sends nothing)."""
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_DGRAM)
    except socket.gaierror as err:
        raise HostError("cannot resolve {}: {}".format(endpoint.host, err)) from err
    last = None  # type: Optional[OSError]
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.connect(address)
                return sock.getsockname()[0]
        except OSError as err:
            last = err
    raise HostError("no route to {}: {}".format(endpoint.host, last))


def agent_ip(host: Host, masters: Optional[str]) -> str:
    """detect_ip under the host root when present and sane, else a route to the masters."""
    script = host.path(DETECT_IP)
    problems = []
    if os.path.exists(script):
        result = host.run([script])
        found = valid_ip(result.stdout) if result.returncode == 0 else None
        if found:
            return found
        problems.append("{} gave no IP ({})".format(DETECT_IP, result.reason))
    if masters:
        for endpoint in parse_endpoints(masters):
            try:
                return route_source(endpoint)
            except HostError as err:
                problems.append(err.reason)
    else:
        problems.append("no --master given to route to")
    raise HostError("cannot find the agent IP: " + "; ".join(problems))
