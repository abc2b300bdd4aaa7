"""Mesos TaskInfo for one engine `Launch`: a command task running the installer .pyz.

Commands run with `shell: false` (argv only), so no configured value ever reaches a shell.
The Mesos fetcher downloads the installer and the step's inputs from the scheduler's own
`/artifacts/` endpoint (or the configured release URLs) into the sandbox.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from urllib.parse import urlsplit

from framework.config import (
    STEP_CALICO_NODE,
    STEP_CNI,
    STEP_DOCKER,
    STEP_ETCD_PROXY,
    STEP_VERIFY,
    Config,
)
from framework.engine import STEP_UNINSTALL, Launch

INSTALLER_NAME = "calico-installer.pyz"
DEFAULT_ARCHIVE_NAME = "etcd.tar.gz"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
PROXY_PORT = 2379  # the agent-local proxy listens on 127.0.0.1:2379
PROXY_HEALTH_PATH = "/v2/keys/"
CNI_CONFIG_NAME = "calico.conf"
KILL_GRACE_NANOS = 20 * 1_000_000_000
NODE_CONTAINER_RUNNING = "docker inspect --format '{{.State.Running}}' calico-node | grep -qx true"
# BIRD listens for BGP on every host address once calico/node's startup has registered the
# node (projectcalico/calico v2.6.12 calico_node/filesystem/etc/rc.local runs `startup ||
# exit 1` before it enables the bird service; bird.cfg.mesh.template sets no `listen bgp`,
# so BIRD binds the wildcard address). The verify step's task reaches this port.
BGP_PORT = 179
# Opening bash's /dev/tcp path connects (bash(1), REDIRECTION): no Python started per check.
# bash is on every host DC/OS supports (CentOS/RHEL 7, CoreOS); /bin/sh may not be bash.
BGP_PROBE = f"bash -c ': </dev/tcp/127.0.0.1/{BGP_PORT}'"


@dataclass(frozen=True)
class ArtifactUrls:
    installer: str
    cni_config: str


# The steps whose installer takes `--allow-restart` (uninstall always may restart: it runs
# under a restart slot).
RESTARTING_STEPS = (STEP_DOCKER, STEP_CNI)


def task_info(config: Config, launch: Launch, offer: dict, urls: ArtifactUrls,
              hostname: str, etcd_peers: tuple[str, ...] = ()) -> dict:
    """`etcd_peers`: the cluster's peer URLs, which the agents' proxies start from unless
    they find the members by DNS SRV."""
    argv, uris = _step_command(config, launch.step, urls, hostname, etcd_peers,
                               agent_address(offer), launch.agent_id)
    if launch.step in RESTARTING_STEPS and launch.allow_restart:
        argv.append("--allow-restart")
    command = {
        "shell": False,
        "value": config.installer.python,
        "arguments": [config.installer.python, INSTALLER_NAME, *argv],
        "uris": [{"value": urls.installer, "extract": False, "cache": False,
                  "output_file": INSTALLER_NAME}, *uris],
    }
    task = {
        "name": f"calico-{launch.step}",
        "task_id": {"value": launch.task_id},
        "agent_id": {"value": launch.agent_id},
        "resources": _resources(offer, launch.role, cpus=launch.cpus, mem=launch.mem),
        "command": command,
        "labels": {"labels": [{"key": "calico-dcos/step", "value": launch.step},
                              {"key": "calico-dcos/target-hash", "value": launch.target_hash}]},
        "kill_policy": {"grace_period": {"nanoseconds": KILL_GRACE_NANOS}},
    }
    if launch.step == STEP_CALICO_NODE:
        # The step counts as done once healthy. Before a verification, healthy means BIRD
        # answers too: the node is registered, so the CNI attach finds Calico ready.
        bgp = STEP_VERIFY in config.enabled_steps()
        task["health_check"] = {
            "type": "COMMAND",
            "command": {"shell": True,
                        "value": node_health_command(bgp)},
            # The first check soon after the start (the verify step waits for it), then
            # every 10 s for the life of the task (each runs a Docker client).
            "delay_seconds": 2.0, "interval_seconds": 10.0, "timeout_seconds": 20.0,
            "consecutive_failures": 3, "grace_period_seconds": 60.0,
        }
    if launch.step == STEP_VERIFY:
        # The task joins the CNI network by name as a workload would; the agent's
        # network/cni isolator attaches it before it starts and reports its address in
        # the status updates' container_status.network_infos (apache/mesos 1.4.3
        # src/slave/containerizer/mesos/isolators/network/cni/cni.cpp `status`).
        task["container"] = {"type": "MESOS",
                             "network_infos": [{"name": config.cni.network_name}]}
    if launch.step == STEP_ETCD_PROXY:
        # Mesos sends HTTP health checks to 127.0.0.1:<port> in the task's network
        # namespace (apache/mesos 1.4.0 src/checks/health_checker.cpp, DEFAULT_DOMAIN); a
        # 2xx/3xx answer to a v2 read proves the v2 path, and the step counts as done
        # only once it is healthy (checks are frequent: the next step waits for one). The
        # grace period outlasts the installer's own readiness wait, whose exit status names
        # the reason when the proxy never gets there.
        task["health_check"] = {
            "type": "HTTP",
            "http": {"scheme": "http", "port": PROXY_PORT, "path": PROXY_HEALTH_PATH},
            "delay_seconds": 1.0, "interval_seconds": 3.0, "timeout_seconds": 2.0,
            "consecutive_failures": 3, "grace_period_seconds": 90.0,
        }
    return task


def node_health_command(bgp: bool) -> str:
    return f"{NODE_CONTAINER_RUNNING} && {BGP_PROBE}" if bgp else NODE_CONTAINER_RUNNING


def agent_address(offer: dict) -> str:
    """The agent's IP as the master put it in the offer (apache/mesos 1.4.3
    src/master/master.cpp `Master::offer`: `url.address.ip` is the agent's libprocess
    address), else its hostname."""
    address = (offer.get("url") or {}).get("address") or {}
    return address.get("ip") or offer.get("hostname") or ""


def _step_command(config: Config, step: str, urls: ArtifactUrls, hostname: str,
                  etcd_peers: tuple[str, ...], agent_ip: str = "",
                  agent_id: str = "") -> tuple[list[str], list[dict]]:
    timing = ["--restart-timeout", str(config.installer.restart_timeout_s),
              "--stable-for", str(config.installer.restart_stable_s)]
    if step == STEP_ETCD_PROXY:
        # The fetcher never unpacks an executable URI (apache/mesos 1.4.0 and 1.8.0
        # src/launcher/fetcher.cpp, fetchBypassingCache: `if (uri.executable())` comes
        # before `else if (uri.extract())`), and must not unpack this one either: the
        # installer checks the archive's sha256 first, then takes etcd out of it. The
        # archive may come from the agent's fetcher cache: the digest check still holds.
        archive = archive_name(config.etcd_proxy.binary_url)
        argv = ["etcd-proxy", "--archive", archive,
                *_sha256_arg("--sha256", config.etcd_proxy.binary_sha256)]
        if config.etcd.discovery_srv:
            argv += ["--discovery-srv", config.etcd.discovery_srv]
        elif etcd_peers:
            argv += ["--peer-urls", ",".join(etcd_peers)]
        else:
            raise ValueError("the etcd proxy needs the cluster's peer URLs or an SRV domain")
        return [*argv, *_tls_args(config)], [
            {"value": config.etcd_proxy.binary_url, "extract": False, "cache": True,
             "output_file": archive}]
    if step == STEP_DOCKER:
        live_restore = ["--live-restore"] if config.docker.live_restore else []
        return ["docker", "--cluster-store", config.docker.cluster_store, *live_restore,
                *timing], []
    if step == STEP_CNI:
        argv = ["cni", "--calico-binary", "./calico",
                *_sha256_arg("--calico-sha256", config.cni.plugin_sha256),
                "--ipam-binary", "./calico-ipam",
                *_sha256_arg("--ipam-sha256", config.cni.ipam_sha256),
                "--network-config", f"./{CNI_CONFIG_NAME}", *timing]
        return argv, [
            {"value": config.cni.plugin_url, "executable": True, "output_file": "calico"},
            {"value": config.cni.ipam_url, "executable": True, "output_file": "calico-ipam"},
            {"value": urls.cni_config, "extract": False, "output_file": CNI_CONFIG_NAME},
        ]
    if step == STEP_UNINSTALL:
        return ["uninstall", *timing], []
    if step == STEP_VERIFY:
        host = f"[{agent_ip}]" if ":" in agent_ip else agent_ip
        argv = ["verify", "--peer", f"{host}:{BGP_PORT}"]
        if config.docker.enabled:
            # Global-scope networks are seen cluster-wide: one name per agent, so parallel
            # checks on other agents never touch this one.
            argv += ["--docker-network", f"calico-verify-{agent_id}"]
        return argv, []
    if step == STEP_CALICO_NODE:
        argv = ["node", "--image", config.calico_node.image,
                "--etcd-endpoints", ",".join(config.agent_etcd_endpoints()),
                "--hostname", hostname]
        if not config.etcd_proxy.enabled:
            argv += _tls_args(config)
        argv += [f"--env=IP_AUTODETECTION_METHOD={config.calico_node.ip_autodetection_method}"]
        if config.cni.enabled:
            # The pool the CNI config names must exist: calico/node creates it at startup
            # when the cluster has no IPv4 pool yet (projectcalico/calico v2.6.12
            # calico_node/startup/startup.go `configureIPPools`, default 192.168.0.0/16).
            argv.append(f"--env=CALICO_IPV4POOL_CIDR={config.cni.subnet}")
        for name, value in sorted(config.calico_node.environment().items()):
            argv.append(f"--env={name}={value}")
        return argv, []
    raise ValueError(f"unknown step {step!r}")


def archive_name(url: str) -> str:
    """The sandbox name of a fetched archive: its URL's file name (the suffix matters)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name if name.endswith(ARCHIVE_SUFFIXES) else DEFAULT_ARCHIVE_NAME


def _sha256_arg(flag: str, digest: str | None) -> list[str]:
    return [flag, digest] if digest else []


def _tls_args(config: Config) -> list[str]:
    args = []
    for flag, path in (("--etcd-ca-file", config.etcd.ca_file),
                       ("--etcd-cert-file", config.etcd.cert_file),
                       ("--etcd-key-file", config.etcd.key_file)):
        if path:
            args += [flag, path]
    return args


def _resources(offer: dict, role: str, *, cpus: float, mem: float) -> list[dict]:
    """cpus and mem shaped exactly like the offer's own resources of `role`."""
    wanted = {"cpus": cpus, "mem": mem}
    out = []
    for resource in offer.get("resources", []):
        name = resource.get("name")
        if name in wanted and allocation_role(resource) == role:
            taken = copy.deepcopy(resource)
            taken["scalar"] = {"value": wanted.pop(name)}
            out.append(taken)
    if wanted:
        raise ValueError(f"offer {offer['id']['value']} has no {sorted(wanted)} for role {role}")
    return out


def allocation_role(resource: dict) -> str:
    """The role a resource is allocated to: allocation_info when set (MULTI_ROLE)."""
    allocation = resource.get("allocation_info") or {}
    if allocation.get("role"):
        return allocation["role"]
    reservations = resource.get("reservations") or []
    if reservations:
        return reservations[-1].get("role", "*")
    return resource.get("role") or "*"
