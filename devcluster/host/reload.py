"""What a running dockerd does with daemon.json on SIGHUP (`systemctl reload docker`).

Read from moby at the versions DC/OS 1.10 to 1.13 agents ran:
- v1.13.1 `daemon/daemon.go` `Daemon.Reload`; v17.06.2-ce, v17.12.1-ce and v18.09.9
  `daemon/reload.go` `Daemon.Reload`: the file is read again (`daemon/config` `Reload`:
  the same parsing and flag-conflict checks as at start; an error is only logged by
  `cmd/dockerd`, nothing changes). Only some keys take effect, each only when set in the
  file (`conf.IsValueSet`), in the order below; an error stops the keys after it.
- `reloadClusterDiscovery` (same files): the store is looked at only when
  `cluster-advertise` is set in the file; then `cluster-store` (or the running one) and the
  advertise address (`config.ParseClusterAdvertiseSettings`: an advertise without any store
  is an error) replace the running ones in the daemon's config, which is what `docker info`
  shows. The network controller is then asked to take them
  (`netController.ReloadConfiguration`), and its refusal is only logged as a warning.
- docker/libnetwork `controller.go` `controller.ReloadConfiguration` (vendored at each of
  those tags): "accept the configuration reload only as a mean to provide a global store
  config after boot"; a store that changes or removes an existing one is refused ("cannot
  accept new configuration because it modifies an existing datastore client").
So after a refused change `docker info` shows the new store while libnetwork keeps the old
one: the unit record keeps that one as `netstore`.
"""

from __future__ import annotations

import re

from devcluster.host import dockerd

DISCOVERY = "discovery"
# Reload order per version (the first version each applies from).
_RELOAD_1_13 = (DISCOVERY, "labels", "debug", "insecure-registries", "live-restore",
                "max-concurrent-downloads", "max-concurrent-uploads", "shutdown-timeout")
_RELOAD_17_06 = ("debug", "max-concurrent-downloads", "max-concurrent-uploads",
                 "shutdown-timeout", DISCOVERY, "labels", "allow-nondistributable-artifacts",
                 "insecure-registries", "registry-mirrors", "live-restore")
_RELOAD_18_09 = ("debug", "max-concurrent-downloads", "max-concurrent-uploads",
                 "shutdown-timeout", "features", DISCOVERY, "labels",
                 "allow-nondistributable-artifacts", "insecure-registries", "registry-mirrors",
                 "live-restore")
RELOAD_ORDER = (((18, 9, 0), _RELOAD_18_09), ((17, 6, 0), _RELOAD_17_06),
                (dockerd.DAEMON_JSON_SINCE, _RELOAD_1_13))
STORE_KEYS = ("cluster-store", "cluster-advertise", "cluster-store-opts")
# github.com/docker/docker/pkg/discovery `ParseAdvertise`: an address or interface and a port.
ADVERTISE = re.compile(r"^[^:\s]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")


class Reloaded:
    """The daemon after a reload: its config, libnetwork's store, and its log lines. (A
    plain class: the host stand-ins import no dataclasses, see __init__.py.)"""

    def __init__(self, config: dict, netstore: str | None) -> None:
        self.config = config
        self.netstore = netstore
        self.logs: list[str] = []
        self.store_taken = False  # libnetwork accepted a first store: open it now


def reload_order(version: str) -> tuple[str, ...]:
    parsed = dockerd.parse_version(version)
    for since, order in RELOAD_ORDER:
        if parsed >= since:
            return order
    return ()


def reload(version: str, running: dict, netstore: str | None, daemon_json: bytes | None,
           exec_start: list[str]) -> Reloaded:
    """Apply a SIGHUP to a dockerd running with `running` and libnetwork store `netstore`."""
    result = Reloaded(dict(running), netstore)
    try:
        dockerd.effective_config(version, daemon_json, exec_start)
    except dockerd.DaemonConfigError as exc:
        result.logs.append(f"Error reloading configuration: {exc}")
        return result
    file_config = dockerd.file_settings(version, daemon_json)
    for key in reload_order(version):
        if key == DISCOVERY:
            error = _reload_discovery(result, file_config)
            if error:
                result.logs.append(f"Error reloading configuration: {error}")
                return result
        elif key in file_config:
            result.config[key] = file_config[key]
    result.logs.append("Reloaded configuration")
    return result


def _reload_discovery(result: Reloaded, file_config: dict) -> str | None:
    if "cluster-advertise" not in file_config:
        return None
    store = file_config.get("cluster-store", result.config.get("cluster-store", ""))
    advertise = file_config["cluster-advertise"]
    if not advertise:
        return None  # discovery disabled: nothing to reload
    if not store:
        return ("invalid cluster configuration. --cluster-advertise must be accompanied by "
                "--cluster-store configuration")
    if not ADVERTISE.match(advertise):
        return f"discovery advertise parsing failed (invalid advertise address {advertise!r})"
    opts = file_config.get("cluster-store-opts") or {}
    current = tuple(result.config.get(k) or None for k in STORE_KEYS)
    if current == (store, advertise, opts or None):
        return None
    result.config.update({"cluster-store": store, "cluster-advertise": advertise})
    if opts:
        result.config["cluster-store-opts"] = opts
    else:
        result.config.pop("cluster-store-opts", None)
    if result.netstore is None:
        result.netstore = store
        result.store_taken = True
    elif result.netstore != store:
        result.logs.append("Failed to reload configuration with network controller: cannot "
                           "accept new configuration because it modifies an existing "
                           "datastore client")
    return None
