"""Every setting the scheduler reads: its environment variable, flag, parser and default.

The Universe template emits these environment variable names; `docs/configuration.md`
describes each. An empty value counts as unset, so a template may always emit a variable.
A secret has no flag: a command line is visible to every user of the host (`ps`), so a
secret comes from its variable or from the file its `*_FILE` variable (or flag) names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from framework.config import defaults
from framework.config import values as v


@dataclass(frozen=True)
class Variable:
    env: str
    flag: str | None  # None for secrets
    parse: Callable[[str], Any]
    default: str | None  # raw text, parsed like any other value; None: unset
    help: str
    secret: bool = False


def _var(env: str, parse: Callable[[str], Any], default: str | None, help: str, *,
         flag: str | None = None, secret: bool = False) -> Variable:
    if flag is None and not secret:
        flag = "--" + env.removeprefix("CALICO_").lower().replace("_", "-")
    return Variable(env, flag, parse, default, help, secret)


HTTP_URL = v.url(("http", "https"))
CPUS = v.number(0.0, exclusive=True)
MEM_MB = v.number(1.0)

VARIABLES: tuple[Variable, ...] = (
    # mesos
    _var("MESOS_MASTER", v.mesos_master, defaults.MESOS_MASTER,
         "Mesos master: host:port, http://host:port or zk://host:port,.../mesos",
         flag="--master"),
    _var("CALICO_MESOS_TLS", v.boolean, "false",
         "reach the Mesos master and agents over https (DC/OS strict mode), verified with "
         "CALICO_DCOS_CA_FILE"),
    _var("MESOS_PRINCIPAL", v.ascii_principal, None,
         "principal for Mesos HTTP authentication", flag="--principal"),
    _var("MESOS_SECRET", v.ascii_secret, None,
         "secret for Mesos HTTP authentication", secret=True),
    _var("MESOS_SECRET_FILE", v.file_content(v.ascii_secret), None,
         "file holding the Mesos secret", flag="--secret-file"),
    _var("CALICO_SERVICE_ACCOUNT_UID", v.ascii_principal, None,
         "DC/OS service account uid (strict mode)"),
    _var("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY", v.private_key, None,
         "PEM private key of the DC/OS service account", secret=True),
    _var("CALICO_SERVICE_ACCOUNT_PRIVATE_KEY_FILE", v.file_content(v.private_key), None,
         "file holding the service account's PEM private key"),
    _var("CALICO_DCOS_LOGIN_URL", HTTP_URL, defaults.DCOS_LOGIN_URL,
         "DC/OS login endpoint for the service account"),
    _var("CALICO_DCOS_CA_FILE", v.existing_file, None,
         f"CA bundle for https to the DC/OS IAM, Mesos master and agents, and the etcd CA "
         f"when CALICO_ETCD_CA_FILE is unset (DC/OS strict mode: {defaults.DCOS_CA_BUNDLE})"),
    _var("CALICO_ROLES", v.roles, "*,slave_public", "comma-separated Mesos roles"),
    _var("CALICO_FAILOVER_TIMEOUT", v.number(0.0, exclusive=True), "604800",
         "seconds Mesos keeps the framework's tasks while no scheduler is connected"),
    # framework
    _var("CALICO_FRAMEWORK_NAME", v.service_name, "calico",
         "framework and DC/OS service name; part of the etcd key prefix"),
    _var("CALICO_FRAMEWORK_HOSTNAME", v.hostname, None,
         "host name Mesos shows for the framework (default: $HOST, the bind address, "
         "or this machine's name)", flag="--hostname"),
    _var("CALICO_WEBUI_URL", HTTP_URL, None,
         "status page URL Mesos shows (default: http://<hostname>:<port>/)"),
    # etcd
    _var("CALICO_ETCD_ENDPOINTS", v.etcd_endpoints, defaults.ETCD_ENDPOINTS,
         "comma-separated http(s) client URLs of the cluster etcd"),
    _var("CALICO_ETCD_DISCOVERY_SRV", v.domain, None,
         "DNS domain whose _etcd-server-ssl._tcp / _etcd-server._tcp SRV records name the "
         "etcd members the agents' proxies use (default: the members the cluster lists)"),
    _var("CALICO_ETCD_USERNAME", v.ascii_principal, None,
         "etcd user the scheduler authenticates as (etcd auth enabled)"),
    _var("CALICO_ETCD_PASSWORD", v.ascii_secret, None, "password of CALICO_ETCD_USERNAME",
         secret=True),
    _var("CALICO_ETCD_PASSWORD_FILE", v.file_content(v.ascii_secret), None,
         "file holding the etcd password"),
    _var("CALICO_ETCD_CA_FILE", v.pem_certificates, None, "CA bundle for etcd TLS (PEM)"),
    _var("CALICO_ETCD_CERT_FILE", v.pem_certificates, None,
         "client certificate for etcd TLS (PEM)"),
    _var("CALICO_ETCD_KEY_FILE", v.pem_private_key, None,
         "client key for etcd TLS (PEM, without a passphrase)"),
    # etcd-proxy step
    _var("CALICO_ETCD_PROXY_ENABLED", v.boolean, "true",
         "run a local etcd proxy on 127.0.0.1:2379 on every agent"),
    _var("CALICO_ETCD_PROXY_BINARY_URL", HTTP_URL, defaults.ETCD_BINARY_URL,
         "etcd release archive (.tar.gz) whose etcd binary runs the proxy"),
    _var("CALICO_ETCD_PROXY_BINARY_SHA256", v.sha256, None,
         "sha256 of the etcd archive; a mismatch fails the step (default: the published "
         "digest when the URL names the default release archive, else not checked)"),
    _var("CALICO_ETCD_PROXY_CPUS", CPUS, "0.1", "cpus of each etcd proxy task"),
    _var("CALICO_ETCD_PROXY_MEM", MEM_MB, "128", "memory (MB) of each etcd proxy task"),
    # docker step
    _var("CALICO_DOCKER_ENABLED", v.boolean, "true",
         "set Docker's cluster-store and restart Docker where needed"),
    _var("CALICO_DOCKER_CLUSTER_STORE", v.cluster_store, "etcd://127.0.0.1:2379",
         "Docker cluster-store URL (etcd://, consul:// or zk://)"),
    _var("CALICO_DOCKER_LIVE_RESTORE", v.boolean, "false",
         "enable Docker's live-restore by reload before a Docker restart, so containers "
         "keep running"),
    _var("CALICO_DOCKER_CPUS", CPUS, "0.1", "cpus of each docker install task"),
    _var("CALICO_DOCKER_MEM", MEM_MB, "64", "memory (MB) of each docker install task"),
    # cni step
    _var("CALICO_CNI_ENABLED", v.boolean, "true",
         "install the Calico CNI plugins and network, restarting the agent where needed"),
    _var("CALICO_CNI_PLUGIN_URL", HTTP_URL, defaults.CALICO_CNI_URL, "calico plugin binary"),
    _var("CALICO_CNI_PLUGIN_SHA256", v.sha256, None,
         "sha256 of the calico plugin; a mismatch fails the step (unset: not checked)"),
    _var("CALICO_CNI_IPAM_URL", HTTP_URL, defaults.CALICO_IPAM_URL,
         "calico-ipam plugin binary"),
    _var("CALICO_CNI_IPAM_SHA256", v.sha256, None,
         "sha256 of the calico-ipam plugin; a mismatch fails the step (unset: not checked)"),
    _var("CALICO_CNI_NETWORK_NAME", v.service_name, "calico", "CNI network name"),
    _var("CALICO_CNI_SUBNET", v.cidr, "192.168.0.0/16", "IPAM pool for task addresses"),
    _var("CALICO_CNI_MTU", v.integer(576, 9000), "1500", "MTU of task interfaces"),
    _var("CALICO_CNI_CPUS", CPUS, "0.1", "cpus of each cni install task"),
    _var("CALICO_CNI_MEM", MEM_MB, "64", "memory (MB) of each cni install task"),
    # calico-node step
    _var("CALICO_NODE_ENABLED", v.boolean, "true", "run calico/node on every agent"),
    _var("CALICO_NODE_IMAGE", v.docker_image, defaults.CALICO_NODE_IMAGE,
         "calico/node image"),
    _var("CALICO_NODE_IP_AUTODETECTION_METHOD", v.ip_autodetection_method, "first-found",
         "how calico/node picks the agent's IP"),
    _var("CALICO_NODE_FELIX_IGNORELOOSERPF", v.boolean, "true",
         "FELIX_IGNORELOOSERPF (DC/OS hosts run with loose reverse-path filtering)"),
    _var("CALICO_NODE_FELIX_ENV", v.felix_env, "{}",
         'further Felix settings as a JSON object, e.g. {"FELIX_LOGSEVERITYSCREEN": "info"}'),
    _var("CALICO_NODE_CPUS", CPUS, "0.2", "cpus of each calico/node task"),
    _var("CALICO_NODE_MEM", MEM_MB, "256", "memory (MB) of each calico/node task"),
    # verify step
    _var("CALICO_VERIFY_ENABLED", v.boolean, "true",
         "verify the Calico network on every agent after calico/node (needs the cni and "
         "calico-node steps); an agent is complete only once verified"),
    _var("CALICO_VERIFY_CPUS", CPUS, "0.1", "cpus of each verify task"),
    _var("CALICO_VERIFY_MEM", MEM_MB, "64", "memory (MB) of each verify task"),
    # installer
    _var("CALICO_INSTALLER_URL", HTTP_URL, None,
         "where agents fetch calico-installer.pyz (default: served by the scheduler)"),
    _var("CALICO_INSTALLER_PYTHON", v.command_name, "python3",
         "Python interpreter that runs the installer on agents"),
    _var("CALICO_RESTART_TIMEOUT", v.number(0.0, exclusive=True), "180",
         "seconds a restarted Docker or agent unit may take to become active"),
    _var("CALICO_RESTART_STABLE_SECONDS", v.number(0.0), "15",
         "seconds a restarted unit must then stay active before its step counts as done"),
    # rollout
    _var("CALICO_MAX_CONCURRENT_RESTARTS", v.integer(1), "1",
         "agents allowed inside a disruptive step at once"),
    _var("CALICO_MAX_PARALLEL_TASKS", v.integer(1), "10",
         "agents allowed inside a non-disruptive step at once"),
    _var("CALICO_RETRY_MAX_ATTEMPTS", v.integer(1), "5",
         "attempts per step before the agent is failed"),
    _var("CALICO_RETRY_BACKOFF_BASE", v.number(0.0, exclusive=True), "10",
         "seconds before the first retry; doubles per attempt"),
    _var("CALICO_RETRY_BACKOFF_CAP", v.number(0.0, exclusive=True), "300",
         "longest wait between retries, seconds"),
    _var("CALICO_MAX_FAILED_AGENTS", v.integer(1), "1",
         "the rollout halts once this many agents have failed"),
    _var("CALICO_GONE_AGENT_RETENTION", v.number(0.0, exclusive=True), "604800",
         "seconds the record of an agent gone from the cluster is kept, then removed"),
    # lifecycle
    # Cosmos's uninstall of a package whose app has the DCOS_COMMONS_UNINSTALL label sets
    # SDK_UNINSTALL=true in the app's env and restarts it (dcos/cosmos v0.4.1,
    # cosmos-server/.../handler/UninstallHandler.scala, SdkUninstallEnvvar); SDK schedulers
    # test presence only (mesosphere/dcos-commons 0.40.0, SchedulerConfig.isUninstallEnabled).
    _var("SDK_UNINSTALL", v.present, None,
         "remove Calico from every agent, then tear the framework down (set by Cosmos on "
         "`dcos package uninstall`; any value counts)", flag="--uninstall"),
    # web
    _var("CALICO_OPERATOR_TOKEN", v.token, None,
         "bearer token for pause/resume/retry/skip", secret=True),
    _var("CALICO_OPERATOR_TOKEN_FILE", v.file_content(v.token), None,
         "file holding the operator token"),
    _var("CALICO_DCOS_LOGIN", v.boolean, "true",
         "let DC/OS users act: their DC/OS tokens are verified with the IAM's public keys"),
    _var("CALICO_DCOS_JWKS_URL", HTTP_URL, defaults.DCOS_JWKS_URL,
         "the DC/OS IAM's public keys (JWKS) for verifying users' tokens"),
    _var("CALICO_DCOS_USERS", v.principals, None,
         "DC/OS uids allowed to act (default: every DC/OS user the IAM vouches for)"),
    _var("CALICO_BIND_ADDRESS", v.bind_addresses, "0.0.0.0",
         "address (or comma-separated addresses) the status server listens on"),
    _var("PORT0", v.integer(0, 65535), "0",
         "port of the status server (Marathon sets it; 0 picks a free port)", flag="--port"),
    _var("CALICO_LOG_LEVEL", v.log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
)

BY_ENV: dict[str, Variable] = {variable.env: variable for variable in VARIABLES}
