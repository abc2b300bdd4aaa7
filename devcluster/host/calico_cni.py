"""The `calico` and `calico-ipam` CNI plugins v1.11 (devcluster stand-ins): they read and
check their network config as the real ones do and keep their state in etcd through the v2
API, but configure no interface.

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
- `ipam/calico-ipam.go`: addresses come from the config's `ipv4_pools`, each of which must be
  an existing pool (/calico/v1/ipam/v4/pool/<cidr>).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys

from devcluster.host.etcdv2 import KEY_NOT_FOUND, Client, Tls, V2Error

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
            _delegate_ipam(conf, "DEL")
            try:
                client.request("DELETE", "/v2/keys" + key)
            except V2Error as err:
                if err.error_code != KEY_NOT_FOUND:
                    raise
            return None
        addresses = _addresses(_delegate_ipam(conf, "ADD"))
        endpoint = {"state": "active", "name": "cali" + container[:11],
                    "profile_ids": [conf["name"]], "ipv4_nets": addresses}
        client.set(key, json.dumps(endpoint))
    except V2Error as err:
        raise PluginError(str(err)) from None
    return result(conf, addresses)


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
    output = json.loads(done.stdout or b"{}")
    if done.returncode != 0:
        raise PluginError(output.get("msg") or f"{kind} exited with {done.returncode}")
    return output


def ipam(command: str, conf: dict) -> dict | None:
    client = _client(conf)
    _ready(client)
    container = os.environ.get("CNI_CONTAINERID", "")
    handle = f"/calico/ipam/v2/handle/{container}"
    try:
        if command == "DEL":
            try:
                client.request("DELETE", "/v2/keys" + handle)
            except V2Error as err:
                if err.error_code != KEY_NOT_FOUND:
                    raise
            return None
        pools = (conf.get("ipam") or {}).get("ipv4_pools") or []
        for pool in pools:
            try:
                client.get(f"/calico/v1/ipam/v4/pool/{pool.replace('/', '-')}")
            except V2Error as err:
                if err.error_code == KEY_NOT_FOUND:
                    raise PluginError(f"the given pool ({pool}) does not exist") from None
                raise
        network = ipaddress.ip_network(pools[0] if pools else "192.168.0.0/16")
        offset = int(hashlib.sha256(container.encode()).hexdigest(), 16) % (
            network.num_addresses - 2) + 1
        address = f"{network.network_address + offset}/32"
        client.set(handle, address)
    except V2Error as err:
        raise PluginError(str(err)) from None
    return result(conf, [address])
