"""prepare_host: turn a directory into a simulated DC/OS agent host and say how to use it.

Host files (daemon.json, unit files, DC/OS config) are created only when missing and unit
and container state is kept, so preparing an existing host again keeps its state; the spec
(host.json), the stand-in launchers and detect_ip are rewritten from the new spec.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

from devcluster.host import store, units
from devcluster.host.errors import HostSpecError
from devcluster.host.hostdir import (
    AGENT_UNIT_FILE_DIR,
    CNI_CONFIG_DIR,
    CNI_PLUGIN_DIR,
    DAEMON_JSON,
    DCOS_BIN_DIR,
    DCOS_ENVIRONMENT_FILE,
    DOCKER_UNIT_FILE,
    MESOS_AGENT_ENV_FILE,
    MESOS_AGENT_ROLE_ENV_FILE,
    STANDIN_BIN_DIR,
    HostDir,
)
from devcluster.host.spec import HostSpec

__all__ = ["HostSpec", "host_environment", "prepare_host"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STANDINS = {"systemctl": "devcluster.host.systemctl", "docker": "devcluster.host.docker_cli"}
DOCKERD_COMMAND = ["/usr/bin/dockerd", "-H", "fd://"]
AGENT_COMMAND = ["/opt/mesosphere/bin/mesos-agent"]
# run/docker/plugins: where legacy plugins put their sockets (docker/go-plugins-helpers
# sdk/unix_listener.go `pluginSockDir`, which libnetwork-plugin's ServeUnix uses) and Docker
# discovers them; the calico/node stand-in keeps its sockets there (node_daemons.py). Made
# with the host so a plugin coming and going leaves the host's directories as they were.
HOST_DIRS = (CNI_CONFIG_DIR, CNI_PLUGIN_DIR, DCOS_BIN_DIR, STANDIN_BIN_DIR, "etc/docker",
             AGENT_UNIT_FILE_DIR, "usr/lib/systemd/system", "var/lib/devcluster/units",
             "run/docker/plugins")
EXECUTABLE = 0o755

DOCKER_UNIT_TEXT = """\
[Unit]
Description=Docker Application Container Engine
After=network-online.target

[Service]
Type=notify
ExecStart={exec_start}
ExecReload=/bin/kill -s HUP $MAINPID
Restart=always

[Install]
WantedBy=multi-user.target
"""
AGENT_UNIT_TEXT = """\
[Unit]
Description={description}

[Service]
Restart=always
RestartSec=5
KillMode=control-group
Delegate=true
EnvironmentFile=/{environment}
EnvironmentFile=/{agent_common}
EnvironmentFile={role_env}
ExecStart={exec_start}
"""
MESOS_AGENT_ENV_TEXT = f"""\
MESOS_CONTAINERIZERS=docker,mesos
MESOS_NETWORK_CNI_CONFIG_DIR=/{CNI_CONFIG_DIR}
MESOS_NETWORK_CNI_PLUGINS_DIR=/{CNI_PLUGIN_DIR}/
"""
MESOS_AGENT_PUBLIC_TEXT = "MESOS_DEFAULT_ROLE=slave_public\n"
DCOS_ENVIRONMENT_TEXT = "PATH=/opt/mesosphere/bin:/usr/bin:/bin\n"
DCOS_OVERLAY_CNI_TEXT = """\
{"name": "dcos", "type": "bridge", "bridge": "m-dcos", "isGateway": true, "ipMasq": false}
"""


def standin_script(module: str, root: Path) -> str:
    """A launcher that runs module.main with the project's Python, skipping site (fast)."""
    return (
        f"#!{sys.executable} -S\n"
        "import sys\n"
        f"sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
        f"from {module} import main\n"
        f"sys.exit(main(sys.argv[1:], {str(root)!r}))\n"
    )


def detect_ip_script(ip: str) -> str:
    return f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(ip)}\n"


def _write_if_missing(path: Path, text: str) -> None:
    if not path.exists():
        store.write_atomic(path, text.encode())


def _unit_texts(spec: HostSpec, agent_unit: str) -> dict[str, str]:
    role_env = "/" + MESOS_AGENT_ROLE_ENV_FILE + ("-public" if spec.public else "")
    description = ("Mesos Agent Public: distributed systems kernel public agent" if spec.public
                   else "Mesos Agent: distributed systems kernel agent")
    return {
        DOCKER_UNIT_FILE: DOCKER_UNIT_TEXT.format(
            exec_start=shlex.join(DOCKERD_COMMAND + list(spec.docker_flags))),
        f"{AGENT_UNIT_FILE_DIR}/{agent_unit}.service": AGENT_UNIT_TEXT.format(
            description=description, role_env=role_env, environment=DCOS_ENVIRONMENT_FILE,
            agent_common=MESOS_AGENT_ENV_FILE, exec_start=shlex.join(AGENT_COMMAND)),
    }


def host_environment(root: Path | str) -> dict[str, str]:
    """The environment a task on this host needs: stand-ins first on PATH, and the root."""
    root = Path(root).absolute()
    path = os.pathsep.join([str(root / STANDIN_BIN_DIR), str(root / DCOS_BIN_DIR),
                            os.environ.get("PATH", os.defpath)])
    return {"PATH": path, "CALICO_HOST_ROOT": str(root)}


def prepare_host(root: Path | str, spec: HostSpec) -> dict[str, str]:
    """Create (or refresh) the simulated host at root; returns host_environment(root)."""
    if any(char.isspace() for char in sys.executable):
        raise HostSpecError(f"cannot use {sys.executable!r} in a shebang line (whitespace)")
    if spec.events_file is not None and not Path(spec.events_file).parent.is_dir():
        raise HostSpecError(f"events file directory {Path(spec.events_file).parent} missing")
    root = Path(root).absolute()
    for relative in HOST_DIRS:
        (root / relative).mkdir(parents=True, exist_ok=True)
    host = HostDir(root)
    store.write_json(host.spec_path, spec.to_json())
    for relative, text in _unit_texts(spec, host.agent_unit).items():
        _write_if_missing(root / relative, text)
    _write_if_missing(root / MESOS_AGENT_ENV_FILE, MESOS_AGENT_ENV_TEXT)
    _write_if_missing(root / DCOS_ENVIRONMENT_FILE, DCOS_ENVIRONMENT_TEXT)
    _write_if_missing(root / (MESOS_AGENT_ROLE_ENV_FILE + ("-public" if spec.public else "")),
                      MESOS_AGENT_PUBLIC_TEXT if spec.public else "")
    _write_if_missing(root / CNI_CONFIG_DIR / "dcos.conf", DCOS_OVERLAY_CNI_TEXT)
    if spec.daemon_json is not None:
        _write_if_missing(root / DAEMON_JSON, spec.daemon_json)
    for name, module in STANDINS.items():
        store.write_atomic(root / STANDIN_BIN_DIR / name,
                           standin_script(module, root).encode(), EXECUTABLE)
    store.write_atomic(root / DCOS_BIN_DIR / "detect_ip",
                       detect_ip_script(spec.ip).encode(), EXECUTABLE)
    with host.locked():
        now = time.time()
        for unit in host.units:
            if not host.unit_state_path(unit).exists():
                units.save(host, unit, units.initial_record(host, unit, now))
    return host_environment(root)
