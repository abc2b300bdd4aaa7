"""Command-line options of every subcommand, designed to be built as an argv list."""

import argparse
import re
from typing import Dict, List

from installer import services
from installer.host import default_root
from installer.result import EXIT_USAGE
from installer.steps import agent_unit, cni, docker, etcd_proxy, node, verify

STEPS = ("docker", "cni", "etcd-proxy", "node", "ip", "check", "uninstall")
# Matched whole (fullmatch): `$` would also accept a trailing newline.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_STORE_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/]+\S*")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
HOST_PATHS = ("daemon_json", "plugins_dir", "config_dir")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line on stderr, exit 2
        self.exit(EXIT_USAGE, "{}: error: {}\n".format(self.prog, " ".join(message.split())))


def _pair(text: str, names: "re.Pattern[str]") -> tuple:
    key, sep, value = text.partition("=")
    if not sep or not names.fullmatch(key) or "\n" in value or "\0" in value:
        raise argparse.ArgumentTypeError("expected NAME=VALUE, got {!r}".format(text))
    return key, value


def env_pair(text: str) -> tuple:
    """NAME=VALUE where NAME is an environment variable name."""
    return _pair(text, _ENV_NAME)


def opt_pair(text: str) -> tuple:
    """KEY=VALUE where KEY may hold dots, like kv.cacertfile."""
    return _pair(text, _OPT_NAME)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds: {!r}".format(text)) from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds must be >= 0, not {}".format(value))
    return value


def sha256_digest(text: str) -> str:
    if not _SHA256.fullmatch(text):
        raise argparse.ArgumentTypeError("not a sha256 (64 hex digits): {!r}".format(text))
    return text.lower()


def pairs(items: List[tuple]) -> Dict[str, str]:
    return dict(items or [])


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--root", default=default_root(),
                     help="host root prefixed to every host path (default $CALICO_HOST_ROOT "
                          "or /)")
    sub.add_argument("--result-file", default=None,
                     help="JSON result file (default ./calico-installer-<step>.json)")
    sub.add_argument("--verbose", action="store_true", help="log debug details")


def _timing(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--restart-timeout", type=seconds,
                     default=services.DEFAULT_RESTART_TIMEOUT_S,
                     help="seconds a restarted unit may take to become active")
    sub.add_argument("--stable-for", type=seconds, default=services.DEFAULT_STABLE_FOR_S,
                     help="seconds a restarted unit must then stay active")
    sub.add_argument("--poll-interval", type=seconds, default=services.DEFAULT_POLL_INTERVAL_S,
                     help="seconds between unit state checks")


def _restarts(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--allow-restart", action="store_true",
                     help="restart a unit when the change needs it; without this flag a run "
                          "that needs a restart changes nothing and exits 76")


def _etcd_tls(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--etcd-ca-file", help="CA bundle to verify etcd servers")
    sub.add_argument("--etcd-cert-file", help="client certificate for etcd")
    sub.add_argument("--etcd-key-file", help="client key for etcd")


def _add_unit_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--docker-unit", default=docker.DOCKER_UNIT)
    sub.add_argument("--daemon-json", default=docker.DAEMON_JSON,
                     help="host path of Docker's daemon.json")
    sub.add_argument("--agent-unit", default=agent_unit.AUTO,
                     help="dcos-mesos-slave, dcos-mesos-slave-public or auto (default)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="calico-installer",
                     description="Install Calico on this DC/OS agent, one step at a time.")
    steps = parser.add_subparsers(dest="step", metavar="STEP")
    steps.required = True

    sub = steps.add_parser("docker", help="set Docker's cluster-store")
    _common(sub)
    _timing(sub)
    _add_unit_options(sub)
    sub.add_argument("--cluster-store", required=True, help="e.g. etcd://127.0.0.1:2379")
    sub.add_argument("--cluster-store-opt", type=opt_pair, action="append", default=None,
                     metavar="KEY=VALUE", help="cluster-store-opts entry (repeatable)")
    sub.add_argument("--cluster-advertise",
                     help="Docker's cluster-advertise (default: the agent IP, port 2375)")
    sub.add_argument("--live-restore", action="store_true",
                     help="also enable Docker's live-restore (by reload, before any restart)")
    sub.add_argument("--reload-timeout", type=seconds, default=docker.RELOAD_TIMEOUT_S,
                     help="seconds a reload may take to show in docker info")
    _restarts(sub)

    sub = steps.add_parser("cni", help="install the calico CNI plugins and network config")
    _common(sub)
    _timing(sub)
    _add_unit_options(sub)
    sub.add_argument("--calico-binary", required=True, help="the calico plugin (sandbox path)")
    sub.add_argument("--calico-sha256", type=sha256_digest, help="its sha256 (checked)")
    sub.add_argument("--ipam-binary", required=True, help="the calico-ipam plugin")
    sub.add_argument("--ipam-sha256", type=sha256_digest, help="its sha256 (checked)")
    sub.add_argument("--network-config", required=True, help="rendered CNI network config")
    sub.add_argument("--plugins-dir", default=cni.PLUGINS_DIR, help="host CNI plugin dir")
    sub.add_argument("--config-dir", default=cni.CONFIG_DIR, help="host CNI config dir")
    sub.add_argument("--config-name", default=cni.CONFIG_NAME)
    sub.add_argument("--mesos-version",
                     help="the agent's Mesos version (default: read from the agent's /version)")
    _restarts(sub)

    sub = steps.add_parser("etcd-proxy", help="run etcd's v2 API proxy in the foreground")
    _common(sub)
    _etcd_tls(sub)
    sub.add_argument("--archive", required=True,
                     help="etcd release archive (sandbox path) holding the etcd binary")
    sub.add_argument("--sha256", type=sha256_digest, help="the archive's sha256 (checked)")
    where = sub.add_mutually_exclusive_group(required=True)
    where.add_argument("--peer-urls", help="comma-separated peer URLs of etcd members")
    where.add_argument("--discovery-srv", help="DNS domain with _etcd-server(-ssl)._tcp SRV "
                                               "records")
    sub.add_argument("--listen", default=etcd_proxy.LISTEN, help="host:port to serve on")
    sub.add_argument("--ready-timeout", type=seconds, default=etcd_proxy.READY_TIMEOUT_S,
                     help="seconds the proxy may take to reach the etcd v2 API")

    sub = steps.add_parser("node", help="run calico/node in the foreground")
    _common(sub)
    _etcd_tls(sub)
    sub.add_argument("--image", required=True, help="calico/node image")
    sub.add_argument("--etcd-endpoints", required=True, help="comma-separated etcd URLs")
    sub.add_argument("--ip", help="agent IP, or 'autodetect' to let calico/node find it "
                                  "(default: as the `ip` step finds it)")
    sub.add_argument("--master", help="Mesos master list, to find the agent IP by route")
    sub.add_argument("--hostname", help="node name (default: this host's name)")
    sub.add_argument("--container-name", default=node.CONTAINER_NAME)
    sub.add_argument("--felix", type=env_pair, action="append", default=None,
                     metavar="NAME=VALUE", help="Felix setting, passed as FELIX_<NAME>")
    sub.add_argument("--env", type=env_pair, action="append", default=None,
                     metavar="NAME=VALUE", help="extra calico/node environment variable")

    sub = steps.add_parser("ip", help="print this agent's IP")
    _common(sub)
    sub.add_argument("--master", help="Mesos master list (host[:port],... or zk://.../mesos)")

    sub = steps.add_parser("check", help="print every step's state as JSON; changes nothing")
    _common(sub)
    _add_unit_options(sub)
    sub.add_argument("--container-name", default=node.CONTAINER_NAME)
    sub.add_argument("--listen", default=etcd_proxy.LISTEN, help="etcd proxy address")

    sub = steps.add_parser("verify", help="prove the Calico network from inside a task on it")
    _common(sub)
    sub.add_argument("--peer", required=True,
                     help="host:port on the Calico network to reach (the agent's calico/node "
                          "BGP port)")
    sub.add_argument("--timeout", type=seconds, default=verify.DEFAULT_TIMEOUT_S,
                     help="seconds to keep trying the peer")
    sub.add_argument("--docker-network", metavar="NAME",
                     help="also create and remove a Docker network NAME with Calico's drivers")

    sub = steps.add_parser("uninstall", help="undo every step")
    _common(sub)
    _timing(sub)
    _add_unit_options(sub)
    sub.add_argument("--container-name", default=node.CONTAINER_NAME)
    return parser


def _problems(options: argparse.Namespace) -> List[str]:
    """Checks argparse cannot express; each problem is one short phrase."""
    problems = []
    for name in HOST_PATHS:
        value = getattr(options, name, None)
        if value is not None and not value.startswith("/"):
            problems.append("--{} must be an absolute host path, not {!r}".format(
                name.replace("_", "-"), value))
    store = getattr(options, "cluster_store", None)
    if store is not None and not _STORE_URL.fullmatch(store):
        problems.append("--cluster-store {!r} is not a URL like etcd://host:port".format(store))
    return problems


def parse(argv: List[str]) -> argparse.Namespace:
    parser = build_parser()
    options = parser.parse_args(argv)
    for name in ("cluster_store_opt", "felix", "env"):
        if hasattr(options, name):
            setattr(options, name, pairs(getattr(options, name)))
    problems = _problems(options)
    if problems:
        parser.error("; ".join(problems))
    return options
