"""`verify`: run inside a task that joined the Calico CNI network, prove the network works.

The agent's Mesos attached this task through the Calico CNI plugin before it started, so the
task's traffic leaves through its own Calico address. The check opens a TCP connection to
the agent's calico/node (BIRD's BGP port on the agent's address: calico/node v2.6 sets the
per-node DefaultEndpointToHostAction to RETURN, so workload-to-host traffic is allowed;
projectcalico/calico v2.6.12 calico_node/startup/startup.go `ensureDefaultConfig`), retrying
until Felix has programmed the new endpoint. With `--docker-network NAME` it then creates a
Docker network with Calico's libnetwork drivers and removes it, as the walkthrough's
`docker network create --driver calico --ipam-driver calico-ipam` does; nothing is left.
Changes nothing else on the host.
"""

import logging
import socket
import time
from typing import Any, Dict, Optional

from installer import addresses
from installer.errors import DockerNetworkFailed, PeerUnreachable
from installer.host import Host
from installer.result import OK, Outcome

CONNECT_TIMEOUT_S = 2.0
RETRY_INTERVAL_S = 0.5
DEFAULT_TIMEOUT_S = 30.0
NETWORK_DRIVER = "calico"
IPAM_DRIVER = "calico-ipam"
NO_SUCH_NETWORK = "No such network"

log = logging.getLogger("calico-installer")


def reach(peer: str, timeout: float) -> str:
    """Connect to host:port until it answers or `timeout` passes; the local address used."""
    endpoint = addresses.parse_endpoints(peer)[0]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(endpoint, timeout=CONNECT_TIMEOUT_S) as conn:
                return str(conn.getsockname()[0])
        except OSError as err:
            if time.monotonic() >= deadline:
                raise PeerUnreachable("cannot reach calico/node at {}:{} from this task "
                                      "within {:.0f} s: {}".format(endpoint.host, endpoint.port,
                                                                   timeout, err)) from None
        time.sleep(RETRY_INTERVAL_S)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _remove(host: Host, name: str) -> Optional[str]:
    """Remove network `name`; the error, or None when it is gone (or never was)."""
    result = host.run(["docker", "network", "rm", name])
    if result.returncode == 0 or NO_SUCH_NETWORK.lower() in result.stderr.lower():
        return None
    return _last_line(result.stderr or result.stdout)


def docker_network(host: Host, name: str) -> str:
    """Create and remove a Calico Docker network; the id Docker gave it."""
    # One left by an earlier run killed between create and rm; if it cannot go, create
    # says why.
    _remove(host, name)
    created = host.run(["docker", "network", "create", "--driver", NETWORK_DRIVER,
                        "--ipam-driver", IPAM_DRIVER, name])
    if created.returncode != 0:
        raise DockerNetworkFailed("docker network create --driver {} --ipam-driver {} "
                                  "failed: {}".format(NETWORK_DRIVER, IPAM_DRIVER,
                                                      _last_line(created.stderr
                                                                 or created.stdout)))
    failed = _remove(host, name)
    if failed is not None:
        raise DockerNetworkFailed("created network {} but cannot remove it: {}"
                                  .format(name, failed))
    return created.stdout.strip()


def run(host: Host, options: Any) -> Outcome:
    address = reach(options.peer, options.timeout)
    log.info("reached calico/node at %s from %s", options.peer, address)
    details: Dict[str, Any] = {"address": address, "peer": options.peer}
    summary = "reached calico/node at {} from {}".format(options.peer, address)
    if options.docker_network:
        details["docker_network"] = docker_network(host, options.docker_network)
        summary += "; created and removed Docker network {}".format(options.docker_network)
    return Outcome(OK, summary, details=details)
