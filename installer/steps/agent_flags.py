"""Whether this agent's Mesos picks up new CNI files without a restart: its version and its
CNI dir flags."""

import json
import logging
import os
import re
import urllib.request
from typing import Any, Dict, Optional, Tuple

from installer import fsutil
from installer.host import Host

# DC/OS gives the agent its flags as environment variables in this file (github:dcos/dcos
# `gen/dcos-config.yaml`, `mesos-slave-common`: MESOS_NETWORK_CNI_CONFIG_DIR and
# MESOS_NETWORK_CNI_PLUGINS_DIR, the latter a colon-separated search path).
AGENT_ENV_FILE = "/opt/mesosphere/etc/mesos-slave-common"
CONFIG_DIR_VAR = "MESOS_NETWORK_CNI_CONFIG_DIR"
PLUGINS_DIR_VAR = "MESOS_NETWORK_CNI_PLUGINS_DIR"
# Mesos reads CNI configs at each launch since 1.2 (CHANGELOG 1.2.0, MESOS-6567).
SCANS_AT_LAUNCH_SINCE = (1, 2)
# Mesos puts the agent's address in every executor's environment, and command tasks inherit
# it (apache/mesos 1.4.3 `src/slave/slave.cpp` `executorEnvironment`; `src/launcher/
# executor.cpp` copies `os::environment()` into the task's). `/version` needs no
# authentication (1.4.3 `src/version/version.cpp` routes it without a realm).
AGENT_ENDPOINT_VAR = "MESOS_AGENT_ENDPOINT"
VERSION_TIMEOUT_S = 5.0
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)")

log = logging.getLogger("calico-installer")


def parse_version(text: str) -> Optional[Tuple[int, int]]:
    match = _VERSION.match(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def agent_version() -> Optional[str]:
    """The agent's Mesos version from its `/version` endpoint; None when it cannot tell."""
    endpoint = os.environ.get(AGENT_ENDPOINT_VAR)
    if not endpoint:
        return None
    try:
        with urllib.request.urlopen("http://{}/version".format(endpoint),
                                    timeout=VERSION_TIMEOUT_S) as response:
            return str(json.loads(response.read().decode("utf-8")).get("version") or "")
    except (OSError, ValueError) as err:
        log.warning("cannot read the agent's version from %s: %s", endpoint, err)
        return None


def agent_environment(host: Host) -> Dict[str, str]:
    """The variables of DC/OS's agent environment file (empty when there is none)."""
    values = {}
    data = fsutil.read_bytes(host.path(AGENT_ENV_FILE)) or b""
    for line in data.decode("utf-8", "replace").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip().strip("'\"")
    return values


def _same_dir(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def restart_reason(host: Host, options: Any) -> Optional[str]:
    """Why new CNI files need an agent restart here; None when the agent reads them at
    each launch (Mesos >= 1.2 whose flags name the dirs the step writes to)."""
    version_text = options.mesos_version or agent_version()
    version = parse_version(version_text or "")
    if version is None:
        return "cannot tell this agent's Mesos version, so it may not read new CNI configs"
    if version < SCANS_AT_LAUNCH_SINCE:
        return "Mesos {} reads CNI configs only when the agent starts".format(version_text)
    flags = agent_environment(host)
    config_dir = flags.get(CONFIG_DIR_VAR, "")
    if not _same_dir(config_dir, options.config_dir):
        return "the agent reads CNI configs from {!r}, not {}".format(
            config_dir, options.config_dir)
    plugin_dirs = flags.get(PLUGINS_DIR_VAR, "").split(":")
    if not any(_same_dir(entry, options.plugins_dir) for entry in plugin_dirs if entry):
        return "the agent looks for CNI plugins in {!r}, not {}".format(
            flags.get(PLUGINS_DIR_VAR, ""), options.plugins_dir)
    return None
