"""`node`: run the calico/node container in the foreground; SIGTERM stops the container."""

import logging
import socket
from collections import OrderedDict
from typing import Any, List

from installer import addresses
from installer.errors import BadInput, HostError
from installer.foreground import run_foreground
from installer.host import Host
from installer.result import EXITED, OK, Outcome

CONTAINER_NAME = "calico-node"
AUTODETECT = "autodetect"  # calico/node finds its IP itself (IP_AUTODETECTION_METHOD)
STOP_TIMEOUT_S = 20
SECRETS_DIR = "/calico-secrets"
# Defaults for DC/OS: Mesos tasks' interfaces fail Felix's strict reverse-path check.
DCOS_FELIX = {"IGNORELOOSERPF": "true"}
VOLUMES = (
    "/lib/modules:/lib/modules:ro",
    "/var/log/calico:/var/log/calico",
    "/var/run/calico:/var/run/calico",
    "/var/lib/calico:/var/lib/calico",
    "/run/docker/plugins:/run/docker/plugins",
    "/var/run/docker.sock:/var/run/docker.sock",
)
TLS = (("etcd_ca_file", "ETCD_CA_CERT_FILE", "etcd-ca.pem"),
       ("etcd_cert_file", "ETCD_CERT_FILE", "etcd-cert.pem"),
       ("etcd_key_file", "ETCD_KEY_FILE", "etcd-key.pem"))

log = logging.getLogger("calico-installer")


def container_exists(host: Host, name: str) -> bool:
    return host.run(["docker", "inspect", "--type", "container", name]).returncode == 0


def remove_container(host: Host, name: str) -> bool:
    """Remove the named container if present; True when one was removed."""
    if not container_exists(host, name):
        return False
    log.info("removing stale container %s", name)
    host.check(["docker", "rm", "-f", name])
    return True


def run_argv(options: Any, ip: str, hostname: str) -> List[str]:
    """The `docker run` argument list for calico/node; --env entries override defaults."""
    env = OrderedDict([("NODENAME", hostname), ("HOSTNAME", hostname), ("IP", ip),
                       ("ETCD_ENDPOINTS", options.etcd_endpoints),
                       ("CALICO_NETWORKING_BACKEND", "bird"),
                       ("CALICO_LIBNETWORK_ENABLED", "true")])
    felix = dict(DCOS_FELIX, **{k.upper(): v for k, v in options.felix.items()})
    env.update(("FELIX_" + key, value) for key, value in sorted(felix.items()))
    volumes = list(VOLUMES)
    for attr, variable, name in TLS:
        path = getattr(options, attr)
        if path:
            env[variable] = SECRETS_DIR + "/" + name
            volumes.append("{}:{}/{}:ro".format(path, SECRETS_DIR, name))
    env.update(sorted(options.env.items()))
    argv = ["docker", "run", "--rm", "--name", options.container_name, "--net=host",
            "--privileged"]
    for key, value in env.items():
        argv += ["-e", "{}={}".format(key, value)]
    for volume in volumes:
        argv += ["-v", volume]
    return argv + [options.image]


def _validate(options: Any) -> None:
    for attr, _, _ in TLS:
        path = getattr(options, attr)
        if path is not None and (not path.startswith("/") or ":" in path):
            raise BadInput("--{} must be an absolute path without ':', not {!r}".format(
                attr.replace("_", "-"), path))
    if not options.image.strip() or options.image.startswith("-"):
        raise BadInput("--image {!r} is not an image name".format(options.image))


def run(host: Host, options: Any) -> Outcome:
    _validate(options)
    ip = options.ip or addresses.agent_ip(host, options.master)
    if ip != AUTODETECT and addresses.valid_ip(ip) is None:
        raise BadInput("--ip {!r} is neither an IP address nor {}".format(ip, AUTODETECT))
    hostname = options.hostname or socket.gethostname()
    host.require("docker")
    remove_container(host, options.container_name)
    argv = run_argv(options, ip, hostname)
    log.info("starting %s (%s) with IP %s as %s", options.container_name, options.image, ip,
             hostname)

    def stop(child: Any) -> None:
        result = host.run(["docker", "stop", "-t", str(STOP_TIMEOUT_S), options.container_name],
                          timeout=STOP_TIMEOUT_S + 30)
        if result.returncode != 0:
            log.warning("docker stop %s: %s", options.container_name, result.reason)

    finished = run_foreground(argv, stop, grace=STOP_TIMEOUT_S + 30)
    details = {"container": options.container_name, "image": options.image, "ip": ip,
               "hostname": hostname, "container_exit": finished.returncode}
    if finished.stopped:
        return Outcome(EXITED, "{} stopped on request (exit {})".format(
            options.container_name, finished.returncode), details=details,
            exit_code=finished.returncode)
    if finished.returncode == 0:
        return Outcome(OK, "{} exited".format(options.container_name), details=details)
    raise HostError("{} exited with status {}".format(options.container_name,
                                                      finished.returncode))
