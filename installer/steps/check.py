"""`check`: report every step's observed state on this host as JSON, changing nothing."""

import json
import os
import socket
from typing import Any, Dict

from installer import addresses, dockerconf, fsutil
from installer.errors import InstallerError
from installer.host import Host
from installer.result import OK, Outcome
from installer.steps import agent_unit, cni, etcd_proxy

CONNECT_TIMEOUT_S = 1.0


def _guard(probe: Any) -> Any:
    """Run probe(); an installer error becomes {"error": reason} so check never fails."""
    try:
        return probe()
    except InstallerError as err:
        return {"error": err.reason}


def docker_state(host: Host, options: Any) -> Dict[str, Any]:
    state = {"journal": host.journal.load("docker")}  # type: Dict[str, Any]
    version = host.run(["docker", "version", "--format", "{{.Server.Version}}"])
    state["version"] = version.stdout.strip() if version.returncode == 0 else None
    active = host.run(["systemctl", "is-active", options.docker_unit])
    state["active"] = active.stdout.strip() == "active"
    data = fsutil.read_bytes(host.path(options.daemon_json))
    settings = dockerconf.parse_daemon_json(data, options.daemon_json)
    state["cluster_store"] = settings.get(dockerconf.CLUSTER_STORE)
    return state


def cni_state(host: Host, options: Any) -> Dict[str, Any]:
    record = host.journal.load(cni.STEP)
    files = {}
    for dest, digest in sorted((record or {}).get("files", {}).items()):
        data = fsutil.read_bytes(host.path(dest))
        files[dest] = {"present": data is not None,
                       "as_installed": data is not None and fsutil.sha256(data) == digest}
    unit = agent_unit.detect(host, options.agent_unit)
    active = host.run(["systemctl", "is-active", unit]).stdout.strip() == "active"
    return {"journal": record, "files": files, "agent_unit": unit, "active": active}


def proxy_state(options: Any) -> Dict[str, Any]:
    endpoint = addresses.parse_endpoints(options.listen, default_port=2379)[0]
    try:
        with socket.create_connection(endpoint, timeout=CONNECT_TIMEOUT_S):
            listening = True
    except OSError:
        listening = False
    state = {"listen": options.listen, "listening": listening}  # type: Dict[str, Any]
    if listening:
        serves_v2, status, body = etcd_proxy.v2_status(options.listen)
        state["v2_api"] = serves_v2
        if not serves_v2:
            state["v2_answer"] = body if status is None else "{} {}".format(status, body)
    return state


def node_state(host: Host, options: Any) -> Dict[str, Any]:
    result = host.run(["docker", "inspect", "--type", "container", options.container_name])
    if result.returncode != 0:
        return {"container": options.container_name, "exists": False}
    inspected = json.loads(result.stdout or "[]")
    status = inspected[0].get("State", {}).get("Status") if inspected else None
    return {"container": options.container_name, "exists": True, "status": status}


def run(host: Host, options: Any) -> Outcome:
    report = {
        "root": host.root,
        "state_dir_exists": os.path.isdir(host.journal.state_dir),
        "docker": _guard(lambda: docker_state(host, options)),
        "cni": _guard(lambda: cni_state(host, options)),
        "etcd-proxy": _guard(lambda: proxy_state(options)),
        "calico-node": _guard(lambda: node_state(host, options)),
    }
    print(json.dumps(report, indent=2, sort_keys=True))
    return Outcome(OK, "state reported", details=report)
