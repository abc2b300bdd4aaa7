"""`docker network create | rm | ls | inspect` on a simulated host, for the networks Calico's
libnetwork plugin drives (`--driver calico --ipam-driver calico-ipam`), with the errors the
real daemon gives where that path fails.

Read from docker/libnetwork (the library moby v17.06 and v18.09 vendor; the parts used here are
unchanged across them) and projectcalico/libnetwork-plugin v1.1.3:
- `controller.go` `NewNetwork`: the network driver is resolved first (`resolveDriver` ->
  `loadDriver`: legacy plugins are found by their socket in /run/docker/plugins; none there
  -> the plugin getter's not-found error), then the IPAM driver (`ipamAllocate` ->
  `loadIPAMDriver`, the same lookup), then the driver's CreateNetwork (libnetwork-plugin
  `driver/network_driver.go` `CreateNetwork`: a non-Calico IPAM driver, such as the builtin
  `default` one when --ipam-driver is not given, is refused), then the
  endpoint count and the network are written to the store of the driver's scope
  (`updateToStore`: no store for that scope -> `ErrDataStoreNotInitialized`, "datastore for
  scope "global" is not initialized"; a failed write -> "failed to update store for object
  type *libnetwork.endpointCnt: ..."). The calico driver's scope is global
  (`GetCapabilities`), so a daemon without a cluster store cannot create its networks.
- Keys under the store: `docker/network/v1.0/network/<id>` (the network's `MarshalJSON`) and
  `docker/network/v1.0/endpoint_count/<id>/` (`endpoint_cnt.go`); writes are atomic
  (`PutObjectAtomic`: prevExist=false for a new object). So every daemon on that store lists
  a global network another host created, and `rm` on any of them deletes it.
- `error.go` `NetworkNameError`: "network with name X already exists" (moby
  `daemon/network.go` `createNetwork` checks the name first, the CLI asking for the check).
- `network.go` `deleteNetwork`: removing needs the driver too ("failed deleting network: ...").
The not-found wording changed with moby's plugin store: "legacy plugin: plugin not found"
before 18.0 (reported with 17.05 in projectcalico/libnetwork-plugin#154), `plugin "calico" not
found` from 18.0 (with 18.03.1 in projectcalico/calicoctl#1860; moby `plugin/store.go`
`ErrNotFound`). The plugins exist while calico/node runs with CALICO_LIBNETWORK_ENABLED=true
(node_daemons.py keeps their socket files). Only the calico driver is simulated for create.
"""

from __future__ import annotations

import json
import os
import sys
import time

from devcluster import netns
from devcluster.host import containers, dockerd, etcdv2, gotemplate, node_daemons, units
from devcluster.host.hostdir import DOCKER_UNIT, HostDir

EXIT_OK = 0
EXIT_ERROR = 1
PREFIX = "docker/network/v1.0"
# The networks every dockerd creates at start (libnetwork's predefined `bridge`, `host` and
# `none`, moby v18.09.9 `daemon/daemon_unix.go` `initBridgeDriver`/`configureNetworking`).
PREDEFINED_NETWORKS = (("bridge", "bridge"), ("host", "host"), ("none", "null"))
GLOBAL_DRIVERS = {"calico": "calico-ipam"}  # driver -> the IPAM driver it accepts
BUILTIN_IPAM = ("default", "null")  # libnetwork's own IPAM drivers (ipams/builtin, ipams/null)
CLUSTER_UNAVAILABLE = "client: etcd cluster is unavailable or misconfigured"  # etcd v2 client


class NetworkError(Exception):
    """str() is what the CLI prints."""


def _not_found(host: HostDir, name: str) -> str:
    if dockerd.parse_version(host.spec["docker_version"]) >= (18, 0, 0):
        return f'plugin "{name}" not found'
    return "legacy plugin: plugin not found"


def _plugin_present(host: HostDir, name: str) -> bool:
    """The plugin's socket file is there and the process serving it lives (a file left by a
    killed one counts as absent; a real stale socket fails activation with a dial error)."""
    try:
        pid = int(node_daemons.plugin_socket(host.root, name).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _store(host: HostDir) -> tuple[etcdv2.Client, str] | None:
    """libnetwork's global store (the one it took at start or reload), None without one."""
    record = units.load(host, DOCKER_UNIT)
    url = record.get("netstore")
    if not url:
        return None
    addresses, _, path = url.removeprefix("etcd://").partition("/")
    opened = record.get("store") or {}
    endpoints = opened.get("endpoints") or [f"http://{a}" for a in addresses.split(",")]
    root = "/" + "/".join([*(p for p in path.split("/") if p), PREFIX])
    return etcdv2.Client(endpoints), root


def _store_error(err: etcdv2.V2Error) -> str:
    return f"{CLUSTER_UNAVAILABLE}; error #0: {err}" if err.status is None else str(err)


def _global_networks(host: HostDir) -> list[dict]:
    store = _store(host)
    if store is None:
        return []
    client, root = store
    try:
        with netns.entered(host.spec.get("netns")):
            listing = client.get(f"{root}/network/", recursive="true", quorum="true")["node"]
    except etcdv2.V2Error:
        return []  # the daemon logs the failed listing and shows its local networks
    networks = []
    for node in listing.get("nodes") or []:
        try:
            networks.append(json.loads(node["value"]))
        except (KeyError, ValueError):
            continue
    return sorted(networks, key=lambda n: n.get("name", ""))


def _rows(host: HostDir) -> list[dict]:
    rows = [{"ID": f"{index:012x}", "Name": name, "Driver": driver, "Scope": "local"}
            for index, (name, driver) in enumerate(PREDEFINED_NETWORKS, start=1)]
    rows += [{"ID": n["id"][:12], "Name": n["name"], "Driver": n["networkType"],
              "Scope": n.get("scope") or "global", "_full": n}
             for n in _global_networks(host)]
    return rows


def create(host: HostDir, args: list[str]) -> str:
    """The new network's id, or NetworkError."""
    driver, ipam_driver, names = "bridge", "default", []
    items = iter(args)
    for arg in items:
        flag, sep, value = arg.partition("=")
        if flag in ("-d", "--driver", "--ipam-driver"):
            value = value if sep else next(items, "")
            if not value:
                raise NetworkError(f"flag needs an argument: {flag}")
            if flag == "--ipam-driver":
                ipam_driver = value
            else:
                driver = value
        elif arg.startswith("-"):
            raise NetworkError(f"unknown flag: {flag}\nSee 'docker network create --help'.")
        else:
            names.append(arg)
    if len(names) != 1:
        raise NetworkError('"docker network create" requires exactly 1 argument.\n'
                           "See 'docker network create --help'.")
    name = names[0]
    if name in {n for n, _ in PREDEFINED_NETWORKS} or any(
            n["name"] == name for n in _global_networks(host)):
        raise NetworkError(f"Error response from daemon: network with name {name} "
                           "already exists")
    if driver not in GLOBAL_DRIVERS:
        raise NetworkError(f"(devcluster) only the calico driver is simulated, not {driver}")
    for plugin in (driver, ipam_driver):
        if plugin not in BUILTIN_IPAM and not _plugin_present(host, plugin):
            raise NetworkError(f"Error response from daemon: {_not_found(host, plugin)}")
    if ipam_driver != GLOBAL_DRIVERS[driver]:
        # libnetwork-plugin v1.1.3 CreateNetwork: only calico-ipam's gateway 0.0.0.0/0 passes;
        # libnetwork's remote driver prefixes the plugin's error with the call's name.
        raise NetworkError("Error response from daemon: NetworkDriver.CreateNetwork: "
                           "Non-Calico IPAM driver is used. Note: Docker before 1.12.3 is "
                           "unsupported")
    store = _store(host)
    if store is None:
        raise NetworkError('Error response from daemon: datastore for scope "global" is not '
                           "initialized")
    client, root = store
    network_id = os.urandom(32).hex()
    network = {"name": name, "id": network_id, "created": containers.timestamp(time.time()),
               "networkType": driver, "scope": "global", "labels": {}, "ipamType": ipam_driver,
               "ipamOptions": {}, "addrSpace": "CalicoGlobalAddressSpace",
               "enableIPv6": False, "persist": True, "postIPv6": False}
    for kind, key, value in (("endpointCnt", f"{root}/endpoint_count/{network_id}/",
                              {"Count": 0}),
                             ("network", f"{root}/network/{network_id}/", network)):
        try:
            with netns.entered(host.spec.get("netns")):
                client.set(key.rstrip("/"), json.dumps(value), prev_exist=False)
        except etcdv2.V2Error as err:
            raise NetworkError(f"Error response from daemon: failed to update store for object "
                               f"type *libnetwork.{kind}: {_store_error(err)}") from None
    return network_id


def remove(host: HostDir, refs: list[str]) -> tuple[list[str], list[str]]:
    """(removed refs, error lines)."""
    removed, errors = [], []
    for ref in refs:
        if ref in {n for n, _ in PREDEFINED_NETWORKS}:
            errors.append(f"Error response from daemon: {ref} is a pre-defined network and "
                          "cannot be removed")
            continue
        found = [n for n in _global_networks(host)
                 if n["name"] == ref or n["id"] == ref or n["id"].startswith(ref)]
        if not found:
            errors.append(f"Error: No such network: {ref}")
            continue
        network = found[0]
        if not _plugin_present(host, network["networkType"]):
            errors.append(f"Error response from daemon: failed deleting network: "
                          f"{_not_found(host, network['networkType'])}")
            continue
        store = _store(host)
        if store is None:
            errors.append('Error response from daemon: datastore for scope "global" is not '
                          "initialized")
            continue
        client, root = store
        try:
            with netns.entered(host.spec.get("netns")):
                for key in (f"{root}/network/{network['id']}",
                            f"{root}/endpoint_count/{network['id']}"):
                    try:
                        client.request("DELETE", "/v2/keys" + key)
                    except etcdv2.V2Error as err:
                        if err.error_code != etcdv2.KEY_NOT_FOUND:
                            raise
        except etcdv2.V2Error as err:
            errors.append(f"Error response from daemon: {_store_error(err)}")
            continue
        removed.append(ref)
    return removed, errors


def main(host: HostDir, args: list[str], template: str | None) -> int:
    """`docker network SUBCOMMAND ...`; the caller checked the daemon is up."""
    sub, rest = (args[0], args[1:]) if args else ("", [])
    try:
        if sub == "create":
            print(create(host, rest))
            return EXIT_OK
        if sub in ("rm", "remove"):
            refs = [a for a in rest if not a.startswith("-")]
            if not refs:
                raise NetworkError('"docker network rm" requires at least 1 argument.')
            removed, errors = remove(host, refs)
            for ref in removed:
                print(ref)
            for line in errors:
                print(line, file=sys.stderr)
            return EXIT_ERROR if errors else EXIT_OK
        if sub in ("ls", "list"):
            rows = _rows(host)
            if template is not None:
                print("\n".join(gotemplate.render(template, row) for row in rows))
            elif "-q" in rest or "--quiet" in rest:
                print("\n".join(row["ID"] for row in rows))
            else:
                print(f"{'NETWORK ID':<15}{'NAME':<20}{'DRIVER':<20}SCOPE")
                print("\n".join(f"{r['ID']:<15}{r['Name']:<20}{r['Driver']:<20}{r['Scope']}"
                                for r in rows))
            return EXIT_OK
        if sub == "inspect":
            refs = [a for a in rest if not a.startswith("-")]
            found, missing = [], []
            networks = _global_networks(host)
            for ref in refs:
                match = [n for n in networks if ref in (n["name"], n["id"])
                         or n["id"].startswith(ref)]
                if match:
                    n = match[0]
                    found.append({"Name": n["name"], "Id": n["id"], "Created": n["created"],
                                  "Scope": n["scope"], "Driver": n["networkType"],
                                  "IPAM": {"Driver": n["ipamType"], "Options": {},
                                           "Config": []}})
                else:
                    missing.append(ref)
            gotemplate.print_inspected(found, template)
            for ref in missing:
                print(f"Error: No such network: {ref}", file=sys.stderr)
            return EXIT_ERROR if missing or not refs else EXIT_OK
        raise NetworkError("Usage:  docker network COMMAND (create, rm, ls and inspect are "
                           "simulated)")
    except NetworkError as err:
        print(err, file=sys.stderr)
        return EXIT_ERROR
