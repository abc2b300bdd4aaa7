"""The `calico` and `calico-ipam` CNI plugins v1.11 (devcluster stand-ins): they read and
check their network config as the real ones do and keep their state in etcd through the v2
API; `calico` gives the container a veth when the agent made it a network namespace.

From projectcalico/cni-plugin v1.11.8:
- `calico.go` `main`: `-v` prints the version; otherwise `skel.PluginMain` with every CNI
  spec version (`version.All`: 0.1.0 to 0.3.1) reads CNI_COMMAND, CNI_CONTAINERID,
  CNI_NETNS, CNI_IFNAME, CNI_PATH and the config on stdin; an error is printed on stdout as
  `{"code": ..., "msg": ...}` with exit status 1.
- `cmdAdd` / `cmdDel`: `json.Unmarshal` into `utils.NetConf` (`utils/types.go`), whose
  typed fields make a wrongly typed value fail ("failed to load netconf: json: cannot
  unmarshal string into Go struct field NetConf.mtu of type int"); `CreateClient`
  (`utils/utils.go`) checks the network name (`ValidateNetworkName`) and takes
  etcd_endpoints / etcd_authority / TLS files from the config; `IsReady` reads
  /calico/v1/Ready (libcalico-go `model.ReadyFlagKey`), which must be true; the endpoint is
  kept at /calico/v1/host/<node>/workload/cni/<container id>/endpoint/<ifname>
  (`model.WorkloadEndpointKey`), its profile is the network name.
- `ipam/calico-ipam.go` over libcalico-go's IPAM (`ipam` below): addresses come from the
  config's `ipv4_pools`, each of which must be an existing pool (/calico/v1/ipam/v4/pool/<cidr>),
  claimed per address with a compare-and-swap in etcd, released on DEL.
- `utils/network.go` `DoNetworking` (`do_networking` below): a real veth into the container's
  network namespace when the agent made one (a dev cluster whose hosts have their own
  namespaces, as root); otherwise no interface.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys

from devcluster.host.etcdv2 import KEY_NOT_FOUND, NODE_EXISTS, Client, Tls, V2Error

VERSION = "v1.11.8"
SPEC_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1"]
NETWORK_NAME = re.compile(r"^[a-zA-Z0-9_.\-]+$")
# utils.NetConf: JSON field -> (Go type name, Python types accepted); unknown fields are
# ignored, as encoding/json does.
NETCONF_FIELDS = {
    "cniVersion": ("string", str), "name": ("string", str), "type": ("string", str),
    "ipam": ("struct { Name string; Type string ...}", dict), "mtu": ("int", int),
    "hostname": ("string", str), "nodename": ("string", str),
    "datastore_type": ("string", str), "etcd_authority": ("string", str),
    "etcd_endpoints": ("string", str), "log_level": ("string", str),
    "policy": ("utils.Policy", dict), "kubernetes": ("utils.Kubernetes", dict),
    "args": ("utils.Args", dict), "etcd_scheme": ("string", str),
    "etcd_key_file": ("string", str), "etcd_cert_file": ("string", str),
    "etcd_ca_cert_file": ("string", str),
}
IPAM_FIELDS = {"type": ("string", str), "subnet": ("string", str),
               "assign_ipv4": ("string", str), "assign_ipv6": ("string", str),
               "ipv4_pools": ("[]string", list), "ipv6_pools": ("[]string", list)}
ERR_GENERIC = 100


class PluginError(Exception):
    def __init__(self, message: str, code: int = ERR_GENERIC) -> None:
        super().__init__(message)
        self.code = code


def main(name: str, argv: list[str]) -> int:
    if argv[:1] == ["-v"]:
        print(VERSION)
        return 0
    command = os.environ.get("CNI_COMMAND", "")
    try:
        if command == "VERSION":
            print(json.dumps({"cniVersion": SPEC_VERSIONS[-1],
                              "supportedVersions": SPEC_VERSIONS}))
            return 0
        if command not in ("ADD", "DEL"):
            raise PluginError(f"unknown CNI_COMMAND: {command}")
        conf = load_netconf(sys.stdin.buffer.read())
        result = (ipam if name == "calico-ipam" else calico)(command, conf)
        if result is not None:
            print(json.dumps(result))
        return 0
    except PluginError as err:
        print(json.dumps({"cniVersion": SPEC_VERSIONS[-1], "code": err.code, "msg": str(err)}))
        return 1


def load_netconf(data: bytes) -> dict:
    """The config as `json.Unmarshal(args.StdinData, &conf)` accepts it."""
    try:
        conf = json.loads(data)
    except ValueError as err:
        raise PluginError(f"failed to load netconf: {err}") from None
    if not isinstance(conf, dict):
        raise PluginError("failed to load netconf: json: cannot unmarshal "
                          f"{_json_kind(conf)} into Go value of type utils.NetConf")
    _check_types(conf, NETCONF_FIELDS, "NetConf")
    if isinstance(conf.get("ipam"), dict):
        _check_types(conf["ipam"], IPAM_FIELDS, "NetConf.ipam")
        for pool in conf["ipam"].get("ipv4_pools") or []:
            if not isinstance(pool, str):
                raise PluginError("failed to load netconf: json: cannot unmarshal "
                                  f"{_json_kind(pool)} into Go struct field "
                                  "NetConf.ipam.ipv4_pools of type string")
    return conf


def _check_types(values: dict, fields: dict, struct: str) -> None:
    for key, (go_type, accepted) in fields.items():
        value = values.get(key)
        if value is None:
            continue
        wrong = not isinstance(value, accepted) or (accepted is int and isinstance(value, bool))
        if wrong:
            raise PluginError(f"failed to load netconf: json: cannot unmarshal "
                              f"{_json_kind(value)} into Go struct field {struct}.{key} of "
                              f"type {go_type}")


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def _client(conf: dict) -> Client:
    """`CreateClient`: the network name check, then etcd from the config (libcalico-go's
    default authority 127.0.0.1:2379 when the config names none)."""
    if not NETWORK_NAME.match(conf.get("name") or ""):
        raise PluginError("Invalid characters detected in the given network name. Only "
                          "letters a-z, numbers 0-9, and symbols _.- are supported.")
    endpoints = conf.get("etcd_endpoints") or (
        f"{conf.get('etcd_scheme') or 'http'}://{conf.get('etcd_authority') or '127.0.0.1:2379'}")
    tls = Tls(conf.get("etcd_ca_cert_file") or None, conf.get("etcd_cert_file") or None,
              conf.get("etcd_key_file") or None)
    try:
        return Client(endpoints.split(","), tls)
    except (OSError, V2Error) as err:
        raise PluginError(str(err)) from None


def _ready(client: Client) -> None:
    try:
        ready = client.get("/calico/v1/Ready")["node"]["value"]
    except V2Error as err:
        raise PluginError(f"Unable to retreive ReadyFlag from Backend: {err}") from None
    if ready != "true":
        raise PluginError("Calico is currently not ready to process requests")


def _node(conf: dict) -> str:
    return conf.get("nodename") or conf.get("hostname") or socket.gethostname()


def calico(command: str, conf: dict) -> dict | None:
    client = _client(conf)
    _ready(client)
    container = os.environ.get("CNI_CONTAINERID", "")
    ifname = os.environ.get("CNI_IFNAME", "eth0")
    key = f"/calico/v1/host/{_node(conf)}/workload/cni/{container}/endpoint/{ifname}"
    try:
        if command == "DEL":
            # calico.go cmdDel: release the address (its error kept for last), delete the
            # endpoint, then the container's interface.
            ipam_error = None
            try:
                _delegate_ipam(conf, "DEL")
            except PluginError as err:
                ipam_error = err
            try:
                client.request("DELETE", "/v2/keys" + key)
            except V2Error as err:
                if err.error_code != KEY_NOT_FOUND:
                    raise
            clean_up_namespace(os.environ.get("CNI_NETNS", ""), ifname)
            if ipam_error is not None:
                raise ipam_error
            return None
        addresses = _addresses(_delegate_ipam(conf, "ADD"))
        netns_path = os.environ.get("CNI_NETNS", "")
        if _attachable(netns_path):
            try:
                do_networking(container, ifname, netns_path, addresses[0], conf.get("mtu"))
            except PluginError:
                # calico.go cmdAdd: a failed DoNetworking releases the IPAM allocation.
                with contextlib.suppress(PluginError):
                    _delegate_ipam(conf, "DEL")
                raise
        endpoint = {"state": "active", "name": "cali" + container[:11],
                    "profile_ids": [conf["name"]], "ipv4_nets": addresses}
        client.set(key, json.dumps(endpoint))
    except V2Error as err:
        raise PluginError(str(err)) from None
    return result(conf, addresses)


# -- the container's interface (utils/network.go `DoNetworking`, utils.go `CleanUpNamespace`) --
# Only a namespace the agent created (a named one under /run/netns, devcluster/cni.py) gets an
# interface: on a dev cluster whose hosts share this machine's network there is none to put it
# in, and the plugin then configures nothing (the real one would fail to open CNI_NETNS).
NAMED_NETNS_DIR = "/run/netns"
GATEWAY = "169.254.1.1"  # DoNetworking's dummy next hop, answered by proxy ARP on the host
HOST_MAC = "ee:ee:ee:ee:ee:ee"


def _attachable(netns_path: str) -> bool:
    return os.path.dirname(netns_path) == NAMED_NETNS_DIR and os.path.exists(netns_path)


def host_veth_name(container: str) -> str:
    """`DoNetworking`: "cali" + the first 11 characters of the container id."""
    return "cali" + container[:11]


def _ip(*args: str, stdin: str | None = None) -> None:
    done = subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise PluginError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def do_networking(container: str, ifname: str, netns_path: str, address: str,
                  mtu: int | None) -> None:
    """projectcalico/cni-plugin v1.11.8 utils/network.go `DoNetworking`, in its order: drop
    an old host veth of that name; in the container's namespace add the veth pair (container
    end CNI_IFNAME, host end cali<id>, MAC EE:EE:EE:EE:EE:EE), route 169.254.1.1 scope link
    and the default route via it, the address /32; move the host end to the host's namespace
    (this process's), set proxy_arp=1, proxy_delay=0, forwarding=1 on it (`configureSysctls`)
    and bring it up. The host's /32 route to the container is Felix's work in Calico v2.6
    (v1.11.8 `SetupRoutes` is empty; Felix's route table programs it from the workload
    endpoint): the stand-in adds it here, as calico/node would moments later."""
    name = os.path.basename(netns_path)
    host_veth = host_veth_name(container)
    subprocess.run(["ip", "link", "delete", host_veth], capture_output=True)
    mtu_args = f" mtu {mtu}" if mtu else ""
    _ip("-n", name, "-batch", "-", stdin=(
        f"link add {ifname}{mtu_args} type veth peer name {host_veth}\n"
        f"link set {host_veth} address {HOST_MAC}\n"
        f"link set {ifname} up\n"
        f"route add {GATEWAY}/32 dev {ifname} scope link\n"
        f"route add default via {GATEWAY} dev {ifname}\n"
        f"addr add {address} dev {ifname}\n"
        f"link set {host_veth} netns {os.getpid()}\n"))
    for path, value in ((f"/proc/sys/net/ipv4/conf/{host_veth}/proxy_arp", "1"),
                        (f"/proc/sys/net/ipv4/neigh/{host_veth}/proxy_delay", "0"),
                        (f"/proc/sys/net/ipv4/conf/{host_veth}/forwarding", "1")):
        try:
            with open(path, "w") as handle:
                handle.write(value)
        except OSError as err:
            raise PluginError(f"error configuring sysctls for interface: {host_veth}, "
                              f"error: {err}") from None
    _ip("link", "set", host_veth, "up")
    _ip("route", "add", address, "dev", host_veth, "scope", "link")


def clean_up_namespace(netns_path: str, ifname: str) -> None:
    """`CleanUpNamespace`: delete CNI_IFNAME in the container's namespace when it is there
    (its veth peer, the host end, and the host end's routes go with it)."""
    if not _attachable(netns_path):
        return
    name = os.path.basename(netns_path)
    if subprocess.run(["ip", "-n", name, "link", "show", ifname],
                      capture_output=True).returncode == 0:
        _ip("-n", name, "link", "delete", ifname)


def result(conf: dict, addresses: list[str]) -> dict:
    """The ADD result in the config's cniVersion (`types.PrintResult(result, cniVersion)`):
    `ip4` up to 0.2.0, `ips` from 0.3.0; a config without cniVersion is 0.1.0."""
    version = conf.get("cniVersion") or "0.1.0"
    if version in ("0.1.0", "0.2.0"):
        return {"cniVersion": version, "ip4": {"ip": addresses[0]}}
    return {"cniVersion": version,
            "ips": [{"version": "4", "address": address} for address in addresses]}


def _addresses(output: dict) -> list[str]:
    if isinstance(output.get("ip4"), dict):
        return [output["ip4"]["ip"]]
    return [ip["address"] for ip in output.get("ips") or []]


def _delegate_ipam(conf: dict, command: str) -> dict:
    """Run the IPAM plugin the config names from CNI_PATH, as ipam.ExecAdd/ExecDel do."""
    kind = (conf.get("ipam") or {}).get("type") or ""
    for directory in os.environ.get("CNI_PATH", "").split(":"):
        plugin = os.path.join(directory, kind)
        if kind and os.access(plugin, os.X_OK):
            break
    else:
        raise PluginError(f'failed to find plugin "{kind}" in path '
                          f"[{os.environ.get('CNI_PATH', '')}]")
    done = subprocess.run([plugin], input=json.dumps(conf).encode(), capture_output=True,
                          env={**os.environ, "CNI_COMMAND": command})
    try:
        output = json.loads(done.stdout or b"{}")
    except ValueError:
        output = {}
    if done.returncode != 0:
        raise PluginError(output.get("msg") or f"{kind} exited with {done.returncode}: "
                          f"{done.stderr.decode(errors='replace').strip()[-300:]}")
    return output


def ipam(command: str, conf: dict) -> dict | None:
    """calico-ipam (ipam/calico-ipam.go `cmdAdd`/`cmdDel`) over libcalico-go 3655574dc
    `lib/client/ipam.go`; the handle is `<network>.<container id>` (`utils.GetHandleID`)."""
    client = _client(conf)
    _ready(client)
    handle = f"{conf.get('name')}.{os.environ.get('CNI_CONTAINERID', '')}"
    try:
        if command == "DEL":
            release_by_handle(client, handle)
            return None
        address = auto_assign(client, handle, _node(conf),
                              (conf.get("ipam") or {}).get("ipv4_pools") or [])
    except V2Error as err:
        raise PluginError(str(err)) from None
    if address is None:
        # calico-ipam.go cmdAdd: AutoAssign returned fewer addresses than asked for.
        raise PluginError("Failed to request 1 IPv4 addresses. IPAM allocated only 0.")
    return result(conf, [f"{address}/32"])


# -- libcalico-go 3655574dc IPAM, at the level the verify path needs -------------------------
# Pools are cut into blocks of BLOCK_SIZE addresses (`ipam_block.go` blockSize = 64: /26);
# a block is claimed by a host (affinity key, then the block created with prevExist=false,
# `ipam_block_reader_writer.go` `claimBlockAffinity`); an address is taken from a block by
# rewriting the block with a compare-and-swap on its etcd index (`assignFromExistingBlock`:
# Backend.Update of the KVPair it read, retried on a CAS failure), so two hosts never get the
# same address. The handle counts the handle's addresses per block (`incrementHandle`).
# IPAMConfig is taken at its defaults (AutoAllocateBlocks true, StrictAffinity false).
BLOCK_PREFIX = 26
IPAM_RETRIES = 100  # ipam.go ipamEtcdRetries
COMPARE_FAILED = 101


def _block_key(cidr: ipaddress.IPv4Network) -> str:
    return f"/calico/ipam/v2/assignment/ipv4/block/{str(cidr).replace('/', '-')}"


def _affinity_key(node: str, cidr: ipaddress.IPv4Network) -> str:
    return f"/calico/ipam/v2/host/{node}/ipv4/block/{str(cidr).replace('/', '-')}"


def new_block(cidr: ipaddress.IPv4Network, node: str) -> dict:
    """model.AllocationBlock as `newBlock` makes it, with the host's affinity."""
    size = cidr.num_addresses
    return {"cidr": str(cidr), "affinity": f"host:{node}", "strictAffinity": False,
            "allocations": [None] * size, "unallocated": list(range(size)), "attributes": []}


def _cas(client: Client, key: str, value: str, index: int | None) -> bool:
    """Write key if it is still at index (None: only if absent); False when another
    writer got there first."""
    params = {"prevExist": "false"} if index is None else {"prevIndex": str(index)}
    try:
        client.request("PUT", "/v2/keys" + key, params, {"value": value})
    except V2Error as err:
        if err.error_code in (COMPARE_FAILED, NODE_EXISTS):
            return False
        raise
    return True


def _read(client: Client, key: str) -> tuple[dict, int] | None:
    try:
        node = client.get(key, quorum="true")["node"]
    except V2Error as err:
        if err.error_code == KEY_NOT_FOUND:
            return None
        raise
    return json.loads(node["value"]), node["modifiedIndex"]


def _exists(client: Client, key: str) -> bool:
    try:
        client.get(key)
    except V2Error as err:
        if err.error_code == KEY_NOT_FOUND:
            return False
        raise
    return True


def _pools(client: Client, requested: list[str]) -> list[ipaddress.IPv4Network]:
    """The enabled pools to use (`claimNewAffineBlock`): each requested one must exist."""
    try:
        listing = client.get("/calico/v1/ipam/v4/pool", quorum="true")["node"]
    except V2Error as err:
        if err.error_code != KEY_NOT_FOUND:
            raise
        listing = {}
    existing = {}
    for node in listing.get("nodes") or []:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            value = json.loads(node["value"])
            if not value.get("disabled"):
                existing[str(ipaddress.ip_network(value["cidr"]))] = True
    for pool in requested:
        if str(ipaddress.ip_network(pool, strict=False)) not in existing:
            raise PluginError(f"The given pool ({pool}) does not exist")
    chosen = requested or list(existing)
    if not chosen:
        raise PluginError("No configured Calico pools")
    return [ipaddress.ip_network(pool, strict=False) for pool in chosen]


def _blocks(pool: ipaddress.IPv4Network, node: str) -> list[ipaddress.IPv4Network]:
    """The pool's blocks in the host's own order (`randomBlockGenerator` seeds its walk
    with a hash of the host name)."""
    blocks = list(pool.subnets(new_prefix=max(BLOCK_PREFIX, pool.prefixlen)))
    start = int(hashlib.sha256(node.encode()).hexdigest(), 16) % len(blocks)
    return blocks[start:] + blocks[:start]


def _assign_from_block(client: Client, cidr: ipaddress.IPv4Network, handle: str) -> str | None:
    """One address of the block, taken with a CAS; None when the block is full."""
    for _ in range(IPAM_RETRIES):
        found = _read(client, _block_key(cidr))
        if found is None:
            return None
        block, index = found
        if not block["unallocated"]:
            return None
        ordinal = block["unallocated"].pop(0)
        attrs = block.setdefault("attributes", [])
        match = [i for i, a in enumerate(attrs) if a.get("handle_id") == handle]
        if not match:
            attrs.append({"handle_id": handle, "secondary": None})
        block["allocations"][ordinal] = match[0] if match else len(attrs) - 1
        if _cas(client, _block_key(cidr), json.dumps(block), index):
            _count_handle(client, handle, str(cidr), 1)
            return str(ipaddress.ip_network(block["cidr"]).network_address + ordinal)
    raise PluginError("Max retries hit")


def _count_handle(client: Client, handle: str, cidr: str, delta: int) -> None:
    key = f"/calico/ipam/v2/handle/{handle}"
    for _ in range(IPAM_RETRIES):
        found = _read(client, key)
        value, index = found if found else ({"block": {}}, None)
        value["block"][cidr] = value["block"].get(cidr, 0) + delta
        if _cas(client, key, json.dumps(value), index):
            return
    raise PluginError("Max retries hit")


def auto_assign(client: Client, handle: str, node: str, requested: list[str]) -> str | None:
    """`autoAssign` for one IPv4 address: the host's blocks, then a new block claimed for
    the host, then any block with room (non-strict affinity); None when the pools are full."""
    pools = _pools(client, requested)
    for pool in pools:
        for cidr in _blocks(pool, node):
            if _exists(client, _affinity_key(node, cidr)):
                address = _assign_from_block(client, cidr, handle)
                if address:
                    return address
    for pool in pools:
        for cidr in _blocks(pool, node):
            if not _exists(client, _block_key(cidr)):
                client.set(_affinity_key(node, cidr), "")
                if _cas(client, _block_key(cidr), json.dumps(new_block(cidr, node)), None):
                    address = _assign_from_block(client, cidr, handle)
                    if address:
                        return address
    for pool in pools:
        for cidr in _blocks(pool, node):
            address = _assign_from_block(client, cidr, handle)
            if address:
                return address
    return None


def release_by_handle(client: Client, handle: str) -> None:
    """`ReleaseByHandle`: free the handle's addresses in each of its blocks (CAS), then the
    handle; a handle that does not exist is no error (calico-ipam.go cmdDel)."""
    key = f"/calico/ipam/v2/handle/{handle}"
    found = _read(client, key)
    if found is None:
        return
    for cidr in found[0].get("block") or {}:
        network = ipaddress.ip_network(cidr)
        for _ in range(IPAM_RETRIES):
            current = _read(client, _block_key(network))
            if current is None:
                break
            block, index = current
            attrs = block.get("attributes") or []
            mine = {i for i, a in enumerate(attrs) if a.get("handle_id") == handle}
            for ordinal, attr in enumerate(block["allocations"]):
                if attr in mine:
                    block["allocations"][ordinal] = None
                    block["unallocated"].append(ordinal)
            if _cas(client, _block_key(network), json.dumps(block), index):
                break
    with contextlib.suppress(V2Error):
        client.request("DELETE", "/v2/keys" + key)
