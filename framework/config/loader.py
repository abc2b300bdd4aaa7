"""Build a `Config` from the environment and command-line overrides, reporting every problem.

Order of precedence: flag, then environment variable, then default. Every value is parsed
and every cross-setting rule checked before anything is reported, so one run lists all
problems. Loading writes nothing.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from framework.config import defaults
from framework.config.model import (
    LOCAL_ETCD_PROXY,
    CalicoNodeStep,
    CniStep,
    Config,
    DcosLogin,
    DockerStep,
    EtcdProxyStep,
    EtcdSettings,
    FrameworkSettings,
    InstallerSettings,
    MesosSettings,
    Resources,
    RolloutSettings,
    ServiceAccount,
    VerifyStep,
    WebSettings,
)
from framework.config.values import certificate_matches_key
from framework.config.variables import VARIABLES

VALIDATE_FLAG = "--validate-config"
MARATHON_HOST_ENV = "HOST"


class ConfigError(Exception):
    """The configuration is invalid; `problems` lists every reason, one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class _Parser(argparse.ArgumentParser):
    """argparse that reports instead of exiting, so bad flags join the problem list."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise ConfigError([f"command line: {message}"])


def _argument_parser() -> _Parser:
    parser = _Parser(prog="python -m framework", allow_abbrev=False,
                     description="Calico for DC/OS scheduler. Every flag overrides the "
                                 "environment variable named in its help.")
    parser.add_argument(VALIDATE_FLAG, action="store_true", dest="validate_only",
                        help="check the configuration, print every problem, and exit")
    for variable in VARIABLES:
        if variable.flag is not None:
            parser.add_argument(variable.flag, dest=variable.env, metavar="VALUE",
                                help=f"{variable.help} [{variable.env}]")
    return parser


def load(argv: Sequence[str], env: Mapping[str, str]) -> Config:
    """Validated settings from `env` with `argv` overrides; raises ConfigError."""
    args, unknown = _argument_parser().parse_known_args(list(argv))
    problems = [f"command line: unknown argument {arg!r}" for arg in unknown]
    parsed: dict[str, Any] = {}
    for variable in VARIABLES:
        override = getattr(args, variable.env, None)
        raw = override if override not in (None, "") else env.get(variable.env, "")
        source = variable.flag if override not in (None, "") else variable.env
        if raw == "":
            raw, source = variable.default, f"{variable.env} (default)"
        if raw is None:
            parsed[variable.env] = None
            continue
        try:
            parsed[variable.env] = variable.parse(raw)
        except ValueError as err:
            problems.append(f"{source}: {err}")
            parsed[variable.env] = _INVALID
    problems.extend(_cross_checks(parsed))
    if problems:
        raise ConfigError(problems)
    return _build(parsed, env, validate_only=args.validate_only)


class _Invalid:
    """Marks a value that failed to parse, so cross-checks skip it."""


_INVALID = _Invalid()


def _given(parsed: Mapping[str, Any], *names: str) -> bool:
    return all(parsed[name] is not None and parsed[name] is not _INVALID for name in names)


def _cross_checks(p: Mapping[str, Any]) -> list[str]:
    problems = []
    for value_name, file_name in (("MESOS_SECRET", "MESOS_SECRET_FILE"),
                                  ("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY",
                                   "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY_FILE"),
                                  ("CALICO_OPERATOR_TOKEN", "CALICO_OPERATOR_TOKEN_FILE"),
                                  ("CALICO_ETCD_PASSWORD", "CALICO_ETCD_PASSWORD_FILE")):
        if p[value_name] is not None and p[file_name] is not None:
            problems.append(f"{value_name} and {file_name}: give one, not both")
    has_secret = p["MESOS_SECRET"] is not None or p["MESOS_SECRET_FILE"] is not None
    if has_secret and p["MESOS_PRINCIPAL"] is None:
        problems.append("MESOS_SECRET: a Mesos secret needs MESOS_PRINCIPAL")
    has_key = (p["CALICO_SERVICE_ACCOUNT_PRIVATE_KEY"] is not None
               or p["CALICO_SERVICE_ACCOUNT_PRIVATE_KEY_FILE"] is not None)
    if p["CALICO_SERVICE_ACCOUNT_UID"] is not None and not has_key:
        problems.append("CALICO_SERVICE_ACCOUNT_UID: a service account needs "
                        "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY or ..._PRIVATE_KEY_FILE")
    if has_key and p["CALICO_SERVICE_ACCOUNT_UID"] is None:
        problems.append("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY: a private key needs "
                        "CALICO_SERVICE_ACCOUNT_UID")
    has_etcd_password = (p["CALICO_ETCD_PASSWORD"] is not None
                         or p["CALICO_ETCD_PASSWORD_FILE"] is not None)
    if has_etcd_password != (p["CALICO_ETCD_USERNAME"] is not None):
        problems.append("CALICO_ETCD_USERNAME and CALICO_ETCD_PASSWORD (or ..._PASSWORD_FILE): "
                        "give both or neither")
    if (p["CALICO_ETCD_CERT_FILE"] is None) != (p["CALICO_ETCD_KEY_FILE"] is None):
        problems.append("CALICO_ETCD_CERT_FILE and CALICO_ETCD_KEY_FILE: give both or neither")
    elif _given(p, "CALICO_ETCD_CERT_FILE", "CALICO_ETCD_KEY_FILE") and not (
            certificate_matches_key(p["CALICO_ETCD_CERT_FILE"], p["CALICO_ETCD_KEY_FILE"])):
        problems.append("CALICO_ETCD_KEY_FILE: not the key of the certificate in "
                        "CALICO_ETCD_CERT_FILE")
    secure = _given(p, "CALICO_ETCD_ENDPOINTS") and any(
        e.startswith("https://") for e in p["CALICO_ETCD_ENDPOINTS"])
    if p["CALICO_ETCD_CA_FILE"] is None and (secure or p["CALICO_ETCD_CERT_FILE"] is not None) \
            and p["CALICO_DCOS_CA_FILE"] is None:
        problems.append("CALICO_ETCD_CA_FILE: https endpoints and client certificates need "
                        "the CA that signed the etcd servers (or CALICO_DCOS_CA_FILE)")
    uses_tls = any(_given(p, name) for name in (
        "CALICO_ETCD_CA_FILE", "CALICO_ETCD_CERT_FILE", "CALICO_ETCD_KEY_FILE"))
    if uses_tls and _given(p, "CALICO_ETCD_ENDPOINTS"):
        plain = [e for e in p["CALICO_ETCD_ENDPOINTS"] if not e.startswith("https://")]
        if plain:
            problems.append("CALICO_ETCD_ENDPOINTS: TLS files are set but these endpoints "
                            f"use http: {', '.join(plain)}")
    if p["CALICO_DCOS_USERS"] is not None and p["CALICO_DCOS_LOGIN"] is False:
        problems.append("CALICO_DCOS_USERS: names DC/OS users, but CALICO_DCOS_LOGIN=false "
                        "turns DC/OS login off")
    if _given(p, "CALICO_RETRY_BACKOFF_BASE", "CALICO_RETRY_BACKOFF_CAP") and (
            p["CALICO_RETRY_BACKOFF_CAP"] < p["CALICO_RETRY_BACKOFF_BASE"]):
        problems.append("CALICO_RETRY_BACKOFF_CAP: must be at least CALICO_RETRY_BACKOFF_BASE")
    if (_given(p, "CALICO_DOCKER_ENABLED", "CALICO_ETCD_PROXY_ENABLED",
               "CALICO_DOCKER_CLUSTER_STORE")
            and p["CALICO_DOCKER_ENABLED"] and not p["CALICO_ETCD_PROXY_ENABLED"]
            and _points_at_local_proxy(p["CALICO_DOCKER_CLUSTER_STORE"])):
        problems.append("CALICO_DOCKER_CLUSTER_STORE: points at the local etcd proxy, which "
                        "CALICO_ETCD_PROXY_ENABLED=false turns off; set a reachable store")
    if _given(p, "CALICO_NODE_FELIX_ENV") and any(
            name == "FELIX_IGNORELOOSERPF" for name, _ in p["CALICO_NODE_FELIX_ENV"]):
        problems.append("CALICO_NODE_FELIX_ENV: set FELIX_IGNORELOOSERPF through "
                        "CALICO_NODE_FELIX_IGNORELOOSERPF")
    return problems


def _dcos_ca_for_etcd(p: Mapping[str, Any]) -> str | None:
    """The DC/OS CA bundle verifies an https etcd when no etcd CA is given (on every node)."""
    secure = any(e.startswith("https://") for e in p["CALICO_ETCD_ENDPOINTS"])
    return p["CALICO_DCOS_CA_FILE"] if secure or p["CALICO_ETCD_CERT_FILE"] else None


def _archive_sha256(url: str, given: str | None) -> str | None:
    """The given digest, else the published one when the URL names the default release
    archive (on any host: a mirror keeps the file), else None (not verified)."""
    if given is not None:
        return given
    if urlsplit(url).path.rsplit("/", 1)[-1] == defaults.ETCD_ARCHIVE_NAME:
        return defaults.ETCD_ARCHIVE_SHA256
    return None


def _points_at_local_proxy(store: str) -> bool:
    host_port = store.split("://", 1)[1].split("/", 1)[0]
    local = LOCAL_ETCD_PROXY.split("://", 1)[1]
    return host_port in (local, "localhost:2379")


def _default_hostname(env: Mapping[str, str], bind_addresses: tuple[str, ...]) -> str:
    if env.get(MARATHON_HOST_ENV):
        return env[MARATHON_HOST_ENV]
    specific = [a for a in bind_addresses if not ipaddress.ip_address(a).is_unspecified]
    if len(specific) == len(bind_addresses):
        return next((a for a in specific if not ipaddress.ip_address(a).is_loopback),
                    specific[0])
    return socket.getfqdn()


def _build(p: Mapping[str, Any], env: Mapping[str, str], *, validate_only: bool) -> Config:
    def resources(step: str) -> Resources:
        return Resources(cpus=p[f"CALICO_{step}_CPUS"], mem_mb=p[f"CALICO_{step}_MEM"])

    account = None
    if p["CALICO_SERVICE_ACCOUNT_UID"] is not None:
        account = ServiceAccount(
            uid=p["CALICO_SERVICE_ACCOUNT_UID"],
            private_key=(p["CALICO_SERVICE_ACCOUNT_PRIVATE_KEY"]
                         or p["CALICO_SERVICE_ACCOUNT_PRIVATE_KEY_FILE"]),
            login_url=p["CALICO_DCOS_LOGIN_URL"],
        )
    return Config(
        mesos=MesosSettings(
            master=p["MESOS_MASTER"],
            principal=p["MESOS_PRINCIPAL"],
            secret=p["MESOS_SECRET"] or p["MESOS_SECRET_FILE"],
            service_account=account,
            roles=p["CALICO_ROLES"],
            failover_timeout_s=p["CALICO_FAILOVER_TIMEOUT"],
            tls=p["CALICO_MESOS_TLS"],
        ),
        framework=FrameworkSettings(
            name=p["CALICO_FRAMEWORK_NAME"],
            hostname=(p["CALICO_FRAMEWORK_HOSTNAME"]
                      or _default_hostname(env, p["CALICO_BIND_ADDRESS"])),
            webui_url=p["CALICO_WEBUI_URL"],
        ),
        etcd=EtcdSettings(
            endpoints=p["CALICO_ETCD_ENDPOINTS"],
            discovery_srv=p["CALICO_ETCD_DISCOVERY_SRV"],
            ca_file=p["CALICO_ETCD_CA_FILE"] or _dcos_ca_for_etcd(p),
            cert_file=p["CALICO_ETCD_CERT_FILE"],
            key_file=p["CALICO_ETCD_KEY_FILE"],
            username=p["CALICO_ETCD_USERNAME"],
            password=p["CALICO_ETCD_PASSWORD"] or p["CALICO_ETCD_PASSWORD_FILE"],
        ),
        etcd_proxy=EtcdProxyStep(
            enabled=p["CALICO_ETCD_PROXY_ENABLED"],
            binary_url=p["CALICO_ETCD_PROXY_BINARY_URL"],
            binary_sha256=_archive_sha256(p["CALICO_ETCD_PROXY_BINARY_URL"],
                                          p["CALICO_ETCD_PROXY_BINARY_SHA256"]),
            resources=resources("ETCD_PROXY"),
        ),
        docker=DockerStep(
            enabled=p["CALICO_DOCKER_ENABLED"],
            cluster_store=p["CALICO_DOCKER_CLUSTER_STORE"],
            resources=resources("DOCKER"),
            live_restore=p["CALICO_DOCKER_LIVE_RESTORE"],
        ),
        cni=CniStep(
            enabled=p["CALICO_CNI_ENABLED"],
            plugin_url=p["CALICO_CNI_PLUGIN_URL"],
            plugin_sha256=p["CALICO_CNI_PLUGIN_SHA256"],
            ipam_url=p["CALICO_CNI_IPAM_URL"],
            ipam_sha256=p["CALICO_CNI_IPAM_SHA256"],
            network_name=p["CALICO_CNI_NETWORK_NAME"],
            subnet=p["CALICO_CNI_SUBNET"],
            mtu=p["CALICO_CNI_MTU"],
            resources=resources("CNI"),
        ),
        calico_node=CalicoNodeStep(
            enabled=p["CALICO_NODE_ENABLED"],
            image=p["CALICO_NODE_IMAGE"],
            ip_autodetection_method=p["CALICO_NODE_IP_AUTODETECTION_METHOD"],
            felix_ignore_loose_rpf=p["CALICO_NODE_FELIX_IGNORELOOSERPF"],
            felix_env=p["CALICO_NODE_FELIX_ENV"],
            resources=resources("NODE"),
        ),
        verify=VerifyStep(enabled=p["CALICO_VERIFY_ENABLED"], resources=resources("VERIFY")),
        installer=InstallerSettings(
            url=p["CALICO_INSTALLER_URL"],
            python=p["CALICO_INSTALLER_PYTHON"],
            restart_timeout_s=p["CALICO_RESTART_TIMEOUT"],
            restart_stable_s=p["CALICO_RESTART_STABLE_SECONDS"],
        ),
        rollout=RolloutSettings(
            max_concurrent_restarts=p["CALICO_MAX_CONCURRENT_RESTARTS"],
            max_parallel_tasks=p["CALICO_MAX_PARALLEL_TASKS"],
            retry_max_attempts=p["CALICO_RETRY_MAX_ATTEMPTS"],
            backoff_base_s=p["CALICO_RETRY_BACKOFF_BASE"],
            backoff_cap_s=p["CALICO_RETRY_BACKOFF_CAP"],
            max_failed_agents=p["CALICO_MAX_FAILED_AGENTS"],
            gone_retention_s=p["CALICO_GONE_AGENT_RETENTION"],
        ),
        web=WebSettings(
            bind_addresses=p["CALICO_BIND_ADDRESS"],
            port=p["PORT0"],
            operator_token=p["CALICO_OPERATOR_TOKEN"] or p["CALICO_OPERATOR_TOKEN_FILE"],
            dcos_login=DcosLogin(p["CALICO_DCOS_JWKS_URL"], p["CALICO_DCOS_USERS"])
            if p["CALICO_DCOS_LOGIN"] else None,
        ),
        log_level=p["CALICO_LOG_LEVEL"],
        dcos_ca_file=p["CALICO_DCOS_CA_FILE"],
        validate_only=validate_only,
        uninstall=bool(p["SDK_UNINSTALL"]),
    )
