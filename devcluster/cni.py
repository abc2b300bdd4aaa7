"""The Mesos agent's CNI isolator, for a task that joins CNI networks by name
(`container.network_infos[].name`): find the network's config, run its plugin, read the
address back. Modelled on apache/mesos 1.4.0
`src/slave/containerizer/mesos/isolators/network/cni/cni.cpp`:
- configs are read from `--network_cni_config_dir` at each launch (MESOS-6567, Mesos 1.2+;
  1.4.3 and 1.8.1 `NetworkCniIsolatorProcess::getNetworkConfigJSON(network)`: a name not in
  the cache, or whose cached file no longer validates, makes `loadNetworkConfigs` rescan the
  dir, so a network added after the agent started is found without a restart), the one
  whose `name` matches is used; its `type` is the plugin, looked up in
  `--network_cni_plugins_dir`;
- `attach`: CNI_COMMAND=ADD, CNI_CONTAINERID, CNI_PATH, CNI_IFNAME=eth<i>, CNI_NETNS; the
  config on stdin with `args["org.apache.mesos"]["network_info"]` added (a config that sets
  `org.apache.mesos` itself is refused); a non-zero exit fails the launch with
  "The CNI plugin '<plugin>' failed to attach container <id> to CNI network '<name>':
  stdout='...', stderr='...'"; `detach` runs DEL the same way;
- the result is read as `spec.proto` `NetworkInfo` (ip4 / ip6, CNI 0.2.0); other fields
  (a CNI 0.3 `ips` list) are ignored, so the task then has no address from that network.
The simulated host keeps its agent flags in `opt/mesosphere/etc/mesos-slave-common`.

The container's network namespace: Mesos creates one per container joining CNI networks and
bind-mounts it at /var/run/mesos/isolators/network/cni/<container id>/ns (CNI_NETNS); the
task's process runs inside it. A dev cluster whose hosts have their own namespaces (root)
does the same with a named namespace (`container_netns`, /run/netns/cdc-<pid>-c-<id>, so the
sweep of a dead dev cluster's namespaces removes it too): the calico stand-in puts a real veth
in it and the task's packets cross it. On a shared network (no root) there is no namespace:
CNI_NETNS is Mesos's path, which does not exist here, the plugin configures no interface and
the task runs on this machine's network (its reported address is then only a record).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devcluster.errors import FetchError
from devcluster.host.hostdir import CNI_CONFIG_DIR, CNI_PLUGIN_DIR

PLUGIN_TIMEOUT_S = 60.0


class CniError(FetchError):
    """The container cannot join a network; str() is the agent's message."""


@dataclass(frozen=True)
class Attached:
    network: str
    ifname: str
    ip: str | None  # without prefix length; None when the result has no ip4


def mesos_netns_path(container_id: str) -> str:
    """Where Mesos bind-mounts the container's network namespace (1.4.3 and 1.8.1 cni.cpp
    `paths::getNamespacePath`)."""
    return f"/var/run/mesos/isolators/network/cni/{container_id}/ns"


def _named(task_info: dict) -> list[dict]:
    return [n for n in (task_info.get("container") or {}).get("network_infos") or []
            if isinstance(n, dict) and n.get("name")]


def wants_networks(task_info: dict) -> bool:
    return bool(_named(task_info))


def requested(task_info: dict) -> list[Attached]:
    """Every network the container asked for, as the isolator's `containerNetworks`: what
    its `cleanup` runs DEL for when the container is destroyed, a failed launch included
    (1.4.3 and 1.8.1 cni.cpp `NetworkCniIsolatorProcess::cleanup`)."""
    return [Attached(info["name"], f"eth{index}", None)
            for index, info in enumerate(_named(task_info))]


def attach(root: Path, container_id: str, task_info: dict,
           netns_path: str | None = None) -> list[Attached]:
    """ADD for each named network; `netns_path` is the container's namespace (default:
    Mesos's path, which exists only on a real agent)."""
    netns_path = netns_path or mesos_netns_path(container_id)
    attached = []
    for index, info in enumerate(_named(task_info)):
        name, ifname = info["name"], f"eth{index}"
        config = _config(root, name)
        args = config.setdefault("args", {})
        if not isinstance(args, dict) or "org.apache.mesos" in args:
            raise CniError(f"'org.apache.mesos' in 'args' should not be set in CNI network "
                           f"configuration '{name}'")
        args["org.apache.mesos"] = {"network_info": info}
        done = _run_plugin(root, config, "ADD", container_id, ifname, netns_path)
        if done.returncode != 0:
            raise CniError(f"The CNI plugin '{_plugin(root, config)}' failed to attach "
                           f"container {container_id} to CNI network '{name}': "
                           f"stdout='{done.stdout}', stderr='{done.stderr}'")
        try:
            ip4 = (json.loads(done.stdout or "{}").get("ip4") or {}).get("ip")
        except (ValueError, AttributeError) as err:
            raise CniError(f"Failed to parse the output of the CNI plugin "
                           f"'{_plugin(root, config)}': {err}") from None
        attached.append(Attached(name, ifname, ip4.split("/")[0] if ip4 else None))
    return attached


def detach(root: Path, container_id: str, attached: list[Attached],
           netns_path: str | None = None) -> None:
    netns_path = netns_path or mesos_netns_path(container_id)
    for network in attached:
        # The agent logs a failed detach and carries on.
        with contextlib.suppress(CniError, OSError, subprocess.SubprocessError):
            _run_plugin(root, _config(root, network.network), "DEL", container_id,
                        network.ifname, netns_path)


def _config(root: Path, name: str) -> dict:
    directory = root / CNI_CONFIG_DIR
    for path in sorted(directory.glob("*")) if directory.is_dir() else []:
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(config, dict) and config.get("name") == name:
            return config
    raise CniError(f"Unknown CNI network '{name}'")


def _plugin(root: Path, config: dict) -> str:
    return str(root / CNI_PLUGIN_DIR / str(config.get("type", "")))


def _run_plugin(root: Path, config: dict, command: str, container_id: str,
                ifname: str, netns_path: str) -> subprocess.CompletedProcess:
    plugin = _plugin(root, config)
    if not os.access(plugin, os.X_OK):
        raise CniError(f"Failed to find CNI plugin '{config.get('type')}' used by CNI "
                       f"network '{config.get('name')}'")
    env = {"PATH": os.environ.get("PATH", os.defpath), "CNI_COMMAND": command,
           "CNI_CONTAINERID": container_id, "CNI_PATH": str(root / CNI_PLUGIN_DIR),
           "CNI_IFNAME": ifname, "CNI_NETNS": netns_path}
    return subprocess.run([plugin], input=json.dumps(config), capture_output=True, text=True,
                          env=env, timeout=PLUGIN_TIMEOUT_S)
