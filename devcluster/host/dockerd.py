"""What a simulated dockerd of a given version accepts as configuration.

Mirrors real dockerd: before 1.10 there is no daemon.json (the file is ignored); from 1.10
it must be a JSON object of known directives; directives
removed in 23.0 (`cluster-store`, `cluster-advertise`, ...) are unknown there; a directive set
both as a flag on the ExecStart line and in daemon.json is a conflict. Messages follow
dockerd's own wording so callers can match on them.
"""

from __future__ import annotations

import json
import re

from devcluster.host.errors import HostError

DAEMON_JSON_HOST_PATH = "/etc/docker/daemon.json"
DAEMON_JSON_SINCE = (1, 10, 0)
CLUSTER_STORE_REMOVED = (23, 0, 0)
REMOVED_IN_23 = frozenset({"cluster-store", "cluster-advertise", "cluster-store-opts", "graph"})
KNOWN_DIRECTIVES = REMOVED_IN_23 | frozenset({
    "allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins", "bip",
    "bridge", "builder", "cgroup-parent", "containerd", "containerd-namespace",
    "data-root", "debug", "default-address-pools", "default-cgroupns-mode",
    "default-gateway", "default-ipc-mode", "default-runtime", "default-shm-size",
    "default-ulimits", "dns", "dns-opts", "dns-search", "exec-opts", "exec-root",
    "experimental", "features", "fixed-cidr", "fixed-cidr-v6", "group", "hosts", "icc",
    "init", "init-path", "insecure-registries", "ip", "ip-forward", "ip-masq", "iptables",
    "ip6tables", "ipv6", "labels", "live-restore", "log-driver", "log-format", "log-level",
    "log-opts", "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts",
    "metrics-addr", "mtu", "no-new-privileges", "node-generic-resources", "oom-score-adjust",
    "pidfile", "raw-logs", "registry-mirrors", "runtimes", "seccomp-profile",
    "selinux-enabled", "shutdown-timeout", "storage-driver", "storage-opts",
    "swarm-default-advertise-addr", "tls", "tlscacert", "tlscert", "tlskey", "tlsverify",
    "userland-proxy", "userland-proxy-path", "userns-remap",
})
STRING_DIRECTIVES = frozenset({"cluster-store", "cluster-advertise", "data-root", "log-driver"})


def open_cluster_store(store: str | None, namespace: str | None) -> dict | None:
    """What a starting dockerd does with an `etcd://` cluster store, from the host's network
    namespace; the outcome ({"url", "ok", "endpoints" or "error"}), None without one.

    Docker's libkv etcd store (moby v18.09.9 `vendor/github.com/docker/libkv/store/etcd/
    etcd.go` `New`) starts the v2 client's `AutoSync`, whose first `Sync` lists the members
    (GET /v2/members) and from then on talks to their client URLs; libnetwork then reads its
    networks under `[<store path>/]docker/network/v1.0/network/` (`vendor/github.com/docker/
    libnetwork/datastore/datastore.go` `newClient`, `store.go` `getNetworksFromStore`). A
    failure does not stop dockerd (AutoSync just ends, the listing is logged): Docker runs
    without a usable cluster store, which is what the outcome records."""
    if not store or not store.startswith("etcd://"):
        return None
    # Only a starting daemon needs these; every `docker` command imports this module.
    from devcluster import netns
    from devcluster.host import etcdv2

    addresses, _, prefix = store.removeprefix("etcd://").partition("/")
    endpoints = [f"http://{address}" for address in addresses.split(",")]
    chain = [part for part in prefix.split("/") if part] + ["docker", "network", "v1.0"]
    try:
        with netns.entered(namespace):
            members = etcdv2.Client(endpoints).members()
            synced = [url for member in members for url in member.get("clientURLs") or []]
            try:
                etcdv2.Client(synced or endpoints).get(
                    "/" + "/".join([*chain, "network"]) + "/", quorum="true",
                    recursive="true", sorted="true")
            except etcdv2.V2Error as err:
                if err.error_code != etcdv2.KEY_NOT_FOUND:
                    raise
    except etcdv2.V2Error as err:
        return {"url": store, "ok": False, "error": str(err)}
    return {"url": store, "ok": True, "endpoints": synced or endpoints}


class DaemonConfigError(HostError):
    """dockerd would refuse to start with this configuration; str() is its message."""


def parse_version(text: str) -> tuple[int, int, int]:
    """'20.10.24' -> (20, 10, 24); '17.03.2-ce' -> (17, 3, 2); '1.13' -> (1, 13, 0)."""
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise ValueError(f"not a Docker version: {text!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def flag_values(exec_start: list[str]) -> dict[str, str]:
    """Long flags on a dockerd command line: --name=value, --name value, or bare --name."""
    flags: dict[str, str] = {}
    args = exec_start[1:]
    for index, arg in enumerate(args):
        if not arg.startswith("--") or arg == "--":
            continue
        name, sep, value = arg[2:].partition("=")
        if not sep:
            following = args[index + 1] if index + 1 < len(args) else ""
            value = following if following and not following.startswith("-") else "true"
        flags[name] = value
    return flags


def _go_json_error(exc: json.JSONDecodeError) -> str:
    return f"invalid character at line {exc.lineno} column {exc.colno}: {exc.msg}"


def live_restore(config: dict | None) -> bool:
    """Whether a daemon running with `config` keeps its containers when it stops (moby
    v1.13.1 `daemon/daemon.go` `Daemon.Shutdown`, v18.09.9 `daemon/daemon.go`
    `Daemon.Shutdown`: with LiveRestoreEnabled it returns before stopping any container;
    `daemon/daemon.go` `Daemon.restore` takes them back at the next start)."""
    value = (config or {}).get("live-restore", False)
    return value is True or value == "true"


def effective_config(version: str, daemon_json: bytes | None, exec_start: list[str]) -> dict:
    """The configuration dockerd `version` would run with, or DaemonConfigError."""
    removed = parse_version(version) >= CLUSTER_STORE_REMOVED
    flags = flag_values(exec_start)
    unknown_flags = sorted(name for name in flags if removed and name in REMOVED_IN_23)
    if unknown_flags:
        raise DaemonConfigError(f"unknown flag: --{unknown_flags[0]}")
    file_config = file_settings(version, daemon_json)
    both = sorted(set(flags) & set(file_config))
    if both:
        detail = ", ".join(
            f"{key}: (from flag: {flags[key]}, from file: {file_config[key]})" for key in both)
        raise DaemonConfigError(
            f"unable to configure the Docker daemon with file {DAEMON_JSON_HOST_PATH}: "
            "the following directives are specified both as a flag and in the "
            "configuration file: " + detail)
    return {**file_config, **flags}


def file_settings(version: str, daemon_json: bytes | None) -> dict:
    """The directives daemon.json sets for dockerd `version`, or DaemonConfigError."""
    parsed = parse_version(version)
    removed = parsed >= CLUSTER_STORE_REMOVED
    if parsed < DAEMON_JSON_SINCE:
        daemon_json = None
    prefix = f"unable to configure the Docker daemon with file {DAEMON_JSON_HOST_PATH}: "
    file_config: dict = {}
    if daemon_json is not None and daemon_json.strip():
        try:
            file_config = json.loads(daemon_json)
        except UnicodeDecodeError as exc:
            raise DaemonConfigError(prefix + f"invalid character: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise DaemonConfigError(prefix + _go_json_error(exc)) from exc
        if not isinstance(file_config, dict):
            raise DaemonConfigError(
                prefix + "json: cannot unmarshal into Go value of type map[string]interface {}")
    known = KNOWN_DIRECTIVES - REMOVED_IN_23 if removed else KNOWN_DIRECTIVES
    unknown = sorted(key for key in file_config if key not in known)
    if unknown:
        raise DaemonConfigError(
            prefix + "the following directives don't match any configuration option: "
            + ", ".join(unknown))
    wrong_type = sorted(
        key for key in file_config
        if key in STRING_DIRECTIVES and not isinstance(file_config[key], str))
    if wrong_type:
        raise DaemonConfigError(prefix + f"json: cannot unmarshal {wrong_type[0]} into a string")
    return file_config
