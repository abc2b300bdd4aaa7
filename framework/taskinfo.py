"""Mesos TaskInfo for one engine `Launch`: a command task running the installer .pyz.

Commands run with `shell: false` (argv only), so no configured value ever reaches a shell.
The Mesos fetcher downloads the installer and the step's inputs from the scheduler's own
`/artifacts/` endpoint (or the configured release URLs) into the sandbox.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from framework.config import (
    STEP_CALICO_NODE,
    STEP_CNI,
    STEP_DOCKER,
    STEP_ETCD_PROXY,
    Config,
)
from framework.engine import STEP_UNINSTALL, Launch

INSTALLER_NAME = "calico-installer.pyz"
CNI_CONFIG_NAME = "calico.conf"
KILL_GRACE_NANOS = 20 * 1_000_000_000
NODE_HEALTH_COMMAND = "docker inspect --format '{{.State.Running}}' calico-node | grep -qx true"


@dataclass(frozen=True)
class ArtifactUrls:
    installer: str
    cni_config: str


def task_info(config: Config, launch: Launch, offer: dict, urls: ArtifactUrls,
              hostname: str) -> dict:
    argv, uris = _step_command(config, launch.step, urls, hostname)
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
        task["health_check"] = {
            "type": "COMMAND",
            "command": {"shell": True, "value": NODE_HEALTH_COMMAND},
            "delay_seconds": 5.0, "interval_seconds": 10.0, "timeout_seconds": 10.0,
            "consecutive_failures": 3, "grace_period_seconds": 60.0,
        }
    return task


def _step_command(config: Config, step: str, urls: ArtifactUrls,
                  hostname: str) -> tuple[list[str], list[dict]]:
    timing = ["--restart-timeout", str(config.installer.restart_timeout_s),
              "--stable-for", str(config.installer.restart_stable_s)]
    if step == STEP_ETCD_PROXY:
        argv = ["etcd-proxy", "--etcd-binary", "./etcd",
                "--endpoints", ",".join(config.etcd.endpoints), *_tls_args(config)]
        return argv, [{"value": config.etcd_proxy.binary_url, "executable": True,
                       "extract": False, "output_file": "etcd"}]
    if step == STEP_DOCKER:
        return ["docker", "--cluster-store", config.docker.cluster_store, *timing], []
    if step == STEP_CNI:
        argv = ["cni", "--calico-binary", "./calico", "--ipam-binary", "./calico-ipam",
                "--network-config", f"./{CNI_CONFIG_NAME}", *timing]
        return argv, [
            {"value": config.cni.plugin_url, "executable": True, "output_file": "calico"},
            {"value": config.cni.ipam_url, "executable": True, "output_file": "calico-ipam"},
            {"value": urls.cni_config, "extract": False, "output_file": CNI_CONFIG_NAME},
        ]
    if step == STEP_UNINSTALL:
        return ["uninstall", *timing], []
    if step == STEP_CALICO_NODE:
        argv = ["node", "--image", config.calico_node.image,
                "--etcd-endpoints", ",".join(config.agent_etcd_endpoints()),
                "--hostname", hostname]
        if not config.etcd_proxy.enabled:
            argv += _tls_args(config)
        argv += [f"--env=IP_AUTODETECTION_METHOD={config.calico_node.ip_autodetection_method}"]
        for name, value in sorted(config.calico_node.environment().items()):
            argv.append(f"--env={name}={value}")
        return argv, []
    raise ValueError(f"unknown step {step!r}")


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
