"""The scheduler's validated settings: immutable values grouped by what they configure.

`Config.step_hashes()` gives each per-agent step a digest of exactly the inputs that decide
its target state on an agent, so a changed image or URL re-runs that step (rolling) and no
other. Resources (cpus/mem) count only for the long-running steps, whose task must be
relaunched for a change to take effect; the installer's own URL counts for none, so shipping
a new installer does not re-run converged steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from framework.config.values import REDACTED, redact_url
from framework.engine.plan import (  # the steps are the engine's; config only names them
    STEP_CALICO_NODE,
    STEP_CNI,
    STEP_DOCKER,
    STEP_ETCD_PROXY,
    STEP_ORDER,
    STEP_VERIFY,
)

LOCAL_ETCD_PROXY = "http://127.0.0.1:2379"
# The CNI spec version of the network config: Mesos 1.4 to 1.9 read a plugin's result as CNI
# 0.2.0 (`ip4`/`ip6`: apache/mesos 1.4.0 and 1.8.0 src/slave/containerizer/mesos/isolators/
# network/cni/spec.proto `NetworkInfo`) and ignore a 0.3 `ips` list, and the Calico CNI
# plugin v1.11 prints its result in the config's version (projectcalico/cni-plugin v1.11.8
# calico.go: `types.PrintResult(result, cniVersion)`).
CNI_SPEC_VERSION = "0.2.0"
ETCD_PREFIX_ROOT = "/calico-dcos"


@dataclass(frozen=True)
class ServiceAccount:
    """DC/OS service account used to log in to Admin Router (strict security mode)."""

    uid: str
    private_key: str
    login_url: str


@dataclass(frozen=True)
class MesosSettings:
    master: str  # `host:port` or `zk://...`, exactly as pymesos takes it
    principal: str | None
    secret: str | None
    service_account: ServiceAccount | None
    roles: tuple[str, ...]
    failover_timeout_s: float
    tls: bool = False  # https to the master and agents (DC/OS strict mode)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


@dataclass(frozen=True)
class FrameworkSettings:
    name: str  # Marathon app / DC/OS service name; part of the etcd prefix
    hostname: str
    webui_url: str | None  # None: derived from hostname and the bound port

    @property
    def etcd_prefix(self) -> str:
        return f"{ETCD_PREFIX_ROOT}/{self.name}/"


@dataclass(frozen=True)
class EtcdSettings:
    endpoints: tuple[str, ...]  # client URLs: the scheduler's own v3 connection
    discovery_srv: str | None  # SRV domain the agents' proxies find the members by
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    username: str | None = None  # etcd user/password auth of the scheduler's own state
    password: str | None = None


@dataclass(frozen=True)
class Resources:
    cpus: float
    mem_mb: float


@dataclass(frozen=True)
class EtcdProxyStep:
    enabled: bool
    binary_url: str  # an etcd release archive; the installer verifies, then unpacks it
    binary_sha256: str | None  # None: not verified (shown as unpinned)
    resources: Resources


@dataclass(frozen=True)
class Download:
    """A file the agents fetch and run as root, with the digest it is checked against."""

    name: str
    step: str
    url: str
    sha256: str | None  # None: not verified

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True)
class DockerStep:
    enabled: bool
    cluster_store: str
    resources: Resources
    # Enable Docker's live-restore (by reload) before a Docker restart, so running
    # containers survive it. Off by default: it changes the operator's Docker beyond the
    # cluster store.
    live_restore: bool = False


@dataclass(frozen=True)
class CniStep:
    enabled: bool
    plugin_url: str
    plugin_sha256: str | None
    ipam_url: str
    ipam_sha256: str | None
    network_name: str
    subnet: str
    mtu: int
    resources: Resources


@dataclass(frozen=True)
class CalicoNodeStep:
    enabled: bool
    image: str
    ip_autodetection_method: str
    felix_ignore_loose_rpf: bool
    felix_env: tuple[tuple[str, str], ...]
    resources: Resources

    def environment(self) -> dict[str, str]:
        """The FELIX_* variables calico/node gets, the dedicated setting included."""
        env = dict(self.felix_env)
        env["FELIX_IGNORELOOSERPF"] = "true" if self.felix_ignore_loose_rpf else "false"
        return env


@dataclass(frozen=True)
class VerifyStep:
    enabled: bool
    resources: Resources


@dataclass(frozen=True)
class InstallerSettings:
    url: str | None  # None: the scheduler serves the .pyz at /artifacts/
    python: str
    restart_timeout_s: float  # a restarted unit must be active within this
    restart_stable_s: float  # ... and then stay active this long


@dataclass(frozen=True)
class RolloutSettings:
    max_concurrent_restarts: int
    max_parallel_tasks: int
    retry_max_attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    max_failed_agents: int  # the rollout halts once this many agents have failed
    gone_retention_s: float  # a gone agent's record is removed after this long


@dataclass(frozen=True)
class DcosLogin:
    """DC/OS users acting on the page and API with their own DC/OS tokens."""

    jwks_url: str
    users: tuple[str, ...] | None  # None: every user the IAM vouches for


@dataclass(frozen=True)
class WebSettings:
    bind_addresses: tuple[str, ...]  # plain HTTP; see docs/operations.md
    port: int  # 0: pick a free port
    operator_token: str | None  # None: no operator token
    dcos_login: DcosLogin | None  # None: DC/OS users' tokens are not accepted


@dataclass(frozen=True)
class Config:
    mesos: MesosSettings
    framework: FrameworkSettings
    etcd: EtcdSettings
    etcd_proxy: EtcdProxyStep
    docker: DockerStep
    cni: CniStep
    calico_node: CalicoNodeStep
    verify: VerifyStep
    installer: InstallerSettings
    rollout: RolloutSettings
    web: WebSettings
    log_level: str
    dcos_ca_file: str | None = None  # trust anchors for https to DC/OS (IAM, master, agents)
    validate_only: bool = False
    uninstall: bool = False  # SDK_UNINSTALL: run the uninstall plan, then tear down

    def enabled_steps(self) -> tuple[str, ...]:
        """The plan: enabled steps in the order they run on each agent."""
        enabled = {
            STEP_ETCD_PROXY: self.etcd_proxy.enabled,
            STEP_DOCKER: self.docker.enabled,
            STEP_CNI: self.cni.enabled,
            STEP_CALICO_NODE: self.calico_node.enabled,
            # A task joins the network the cni step installs and reaches calico/node.
            STEP_VERIFY: self.verify.enabled and self.cni.enabled and self.calico_node.enabled,
        }
        return tuple(step for step in STEP_ORDER if enabled[step])

    def downloads(self) -> tuple[Download, ...]:
        """The binaries the enabled steps fetch, each with the sha256 it must match."""
        found = []
        if self.etcd_proxy.enabled:
            found.append(Download("etcd", STEP_ETCD_PROXY, self.etcd_proxy.binary_url,
                                  self.etcd_proxy.binary_sha256))
        if self.cni.enabled:
            found += [Download("calico", STEP_CNI, self.cni.plugin_url, self.cni.plugin_sha256),
                      Download("calico-ipam", STEP_CNI, self.cni.ipam_url, self.cni.ipam_sha256)]
        return tuple(found)

    def agent_etcd_endpoints(self) -> tuple[str, ...]:
        """Where calico/node and the CNI plugin reach etcd on an agent."""
        return (LOCAL_ETCD_PROXY,) if self.etcd_proxy.enabled else self.etcd.endpoints

    def step_inputs(self) -> dict[str, dict[str, Any]]:
        """Per step, the values that decide its target state on an agent."""
        tls = {"ca": self.etcd.ca_file, "cert": self.etcd.cert_file, "key": self.etcd.key_file}
        return {
            STEP_ETCD_PROXY: {
                "binary_url": self.etcd_proxy.binary_url,
                "binary_sha256": self.etcd_proxy.binary_sha256,
                "upstream": list(self.etcd.endpoints),
                "discovery_srv": self.etcd.discovery_srv,
                "tls": tls,
                "resources": dataclasses.asdict(self.etcd_proxy.resources),
            },
            STEP_DOCKER: {"cluster_store": self.docker.cluster_store,
                          **({"live_restore": True} if self.docker.live_restore else {})},
            STEP_CNI: {
                "plugin_url": self.cni.plugin_url,
                "plugin_sha256": self.cni.plugin_sha256,
                "ipam_url": self.cni.ipam_url,
                "ipam_sha256": self.cni.ipam_sha256,
                "cni_version": CNI_SPEC_VERSION,
                "network_name": self.cni.network_name,
                "subnet": self.cni.subnet,
                "mtu": self.cni.mtu,
                "etcd_endpoints": list(self.agent_etcd_endpoints()),
                "tls": None if self.etcd_proxy.enabled else tls,
            },
            STEP_CALICO_NODE: {
                "image": self.calico_node.image,
                "ip_autodetection_method": self.calico_node.ip_autodetection_method,
                "environment": self.calico_node.environment(),
                "ipv4_pool": self.cni.subnet if self.cni.enabled else None,
                "etcd_endpoints": list(self.agent_etcd_endpoints()),
                "tls": None if self.etcd_proxy.enabled else tls,
                "resources": dataclasses.asdict(self.calico_node.resources),
            },
            STEP_VERIFY: {
                "network_name": self.cni.network_name,
                "docker_network": self.docker.enabled,
            },
        }

    def step_hashes(self) -> dict[str, str]:
        """A stable sha256 hex digest of each step's inputs, keyed by step name. The verify
        step's covers every enabled step's too: any change is verified afresh."""
        inputs = self.step_inputs()
        hashes = {step: _digest(values) for step, values in inputs.items()}
        installed = {step: hashes[step] for step in self.enabled_steps() if step != STEP_VERIFY}
        hashes[STEP_VERIFY] = _digest({"verify": inputs[STEP_VERIFY], "installed": installed})
        return hashes

    def webui_url(self, bound_port: int) -> str:
        """The status page URL Mesos shows, once the web server knows its port."""
        if self.framework.webui_url:
            return self.framework.webui_url
        host = self.framework.hostname
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{bound_port}/"

    def redacted(self) -> Config:
        """A copy safe to log: every secret replaced by a marker, and in every URL a
        password and the query's values (signed download URLs carry keys there)."""
        account = self.mesos.service_account
        hidden = dataclasses.replace(
            self,
            mesos=dataclasses.replace(
                self.mesos,
                secret=_hide(self.mesos.secret),
                service_account=account and dataclasses.replace(
                    account, private_key=REDACTED),
            ),
            etcd=dataclasses.replace(self.etcd, password=_hide(self.etcd.password)),
            web=dataclasses.replace(self.web, operator_token=_hide(self.web.operator_token)),
        )
        return _redact_urls(hidden)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _hide(secret: str | None) -> str | None:
    return None if secret is None else REDACTED


def _redact_urls(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{
            f.name: _redact_urls(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, tuple):
        return tuple(_redact_urls(item) for item in value)
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def _digest(inputs: dict[str, Any]) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
