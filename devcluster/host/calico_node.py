"""What the calico/node v2.6 image does when its container starts: register the node in etcd
through the v2 API, then run. The docker stand-in runs this for `calico/node` images.

Modelled on projectcalico/calico v2.6.12 `calico_node/startup/startup.go` `main` with
libcalico-go 3655574dc (the version its glide.lock pins): keys and values as
`lib/backend/model` builds them, errors ending the container with status 1 (`terminate`).
1. Read the node (`getNode`): GET /calico/v1/host/<node>/metadata; "key not found" means a
   new node, any other error: "Unable to access datastore to query node configuration".
2. Apply it (`Nodes().Apply`, which first runs `EnsureInitialized`: the Ready flag and a
   cluster GUID, created once; then the validator, which refuses a node name that is not
   letters, digits, '_', '.' or '-'); the node's metadata and BGP addresses
   (`compat.toNodeComponents`).
3. The default IPv4 pool when there is none (`configureIPPools`; CALICO_IPV4POOL_CIDR,
   default 192.168.0.0/16), the version in the global Felix config and the per-node
   directories confd watches (`ensureDefaultConfig`, `EnsureCalicoNodeInitialized`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets

from devcluster.host.etcdv2 import KEY_NOT_FOUND, Client, Tls, V2Error

DEFAULT_IPV4_POOL = "192.168.0.0/16"
# libcalico-go 3655574dc lib/validator/validator.go `nameRegex` (the `name` tag on
# api.NodeMetadata.Name), checked by client.apply before anything is written.
NODE_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
SECRETS_ENV = {"ETCD_CA_CERT_FILE": "ca_file", "ETCD_CERT_FILE": "cert_file",
               "ETCD_KEY_FILE": "key_file"}
EXIT_TERMINATED = 1


class StartupFailed(Exception):
    """calico/node's startup terminated; str() is its last log line."""


def is_calico_node(image: str) -> bool:
    """`calico/node:v2.6.12`, `quay.io/calico/node:v2.6.12`, `registry:5000/calico/node`..."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: -(len(last) - last.index(":"))]
    return name == "calico/node" or name.endswith("/calico/node")


def start(env: dict[str, str], binds: list[str], host_ip: str, hostname: str) -> str:
    """Register the node; the name it registered as. StartupFailed on a datastore error."""
    node = env.get("NODENAME") or env.get("HOSTNAME") or hostname
    ip = env.get("IP", "")
    if ip in ("", "autodetect"):
        ip = host_ip
    endpoints = env.get("ETCD_ENDPOINTS") or (
        f"{env.get('ETCD_SCHEME', 'http')}://{env.get('ETCD_AUTHORITY', '127.0.0.1:2379')}")
    try:
        client = Client(endpoints.split(","), _tls(env, binds))
    except (OSError, V2Error) as err:  # ssl.SSLError is an OSError
        raise StartupFailed(f"Failed to create Calico API client: {err}") from None
    try:
        client.get(f"/calico/v1/host/{node}/metadata", quorum="true")
    except V2Error as err:
        if err.error_code != KEY_NOT_FOUND:
            raise StartupFailed(f"Unable to access datastore to query node configuration: "
                                f"{err}") from None
    if not NODE_NAME.match(node):  # libcalico-go's validator, run by Nodes().Apply
        raise StartupFailed(f"Unable to set node resource configuration: error with field "
                            f"Name = '{node}' (Reason: failed to validate Field: Name "
                            "because of Tag: name )")
    try:
        client.create("/calico/v1/Ready", "true")
        client.create("/calico/v1/config/ClusterGUID", secrets.token_hex(16))
        client.set(f"/calico/v1/host/{node}/metadata", "{}")
        client.set(f"/calico/bgp/v1/host/{node}/ip_addr_v4", ip)
        client.set(f"/calico/bgp/v1/host/{node}/ip_addr_v6", "")
        client.set(f"/calico/v1/host/{node}/bird_ip", ip)
        _default_pool(client, env.get("CALICO_IPV4POOL_CIDR") or DEFAULT_IPV4_POOL)
        client.set("/calico/v1/config/CalicoVersion", env.get("CALICO_VERSION", "v2.6.12"))
        for directory in ("/calico/v1/ipam/v4/pool", "/calico/v1/ipam/v6/pool",
                          f"/calico/ipam/v2/host/{node}/ipv4/block",
                          f"/calico/ipam/v2/host/{node}/ipv6/block"):
            client.mkdir(directory)
    except V2Error as err:
        raise StartupFailed(f"Unable to set node resource configuration: {err}") from None
    return node


def _default_pool(client: Client, cidr: str) -> None:
    try:
        pools = client.get("/calico/v1/ipam/v4/pool", quorum="true").get("node", {})
        if pools.get("nodes"):
            return
    except V2Error as err:
        if err.error_code != KEY_NOT_FOUND:
            raise
    network = ipaddress.ip_network(cidr)
    value = {"cidr": str(network), "ipip": "", "ipip_mode": "", "masquerade": True,
             "ipam": True, "disabled": False}
    key = str(network).replace("/", "-")
    client.create(f"/calico/v1/ipam/v4/pool/{key}", json.dumps(value))


def _tls(env: dict[str, str], binds: list[str]) -> Tls | None:
    """The TLS files the container names, as host paths through its bind mounts."""
    mounts = {}
    for bind in binds:
        parts = bind.split(":")
        if len(parts) >= 2:
            mounts[parts[1]] = parts[0]
    files = {attr: mounts.get(env[name], env[name])
             for name, attr in SECRETS_ENV.items() if env.get(name)}
    return Tls(**files) if files else None
