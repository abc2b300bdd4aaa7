"""Where a simulated host keeps things, and its stored spec, for the light stand-ins.

The stand-ins read `host.json` as a plain dict (no dataclasses: they must start fast);
`spec.HostSpec` is the typed view the Python API uses to write it.
"""

from __future__ import annotations

from pathlib import Path

from devcluster.host import events, store
from devcluster.host.errors import HostSpecError

STATE_DIR = "var/lib/devcluster"
DAEMON_JSON = "etc/docker/daemon.json"
DOCKER_UNIT_FILE = "usr/lib/systemd/system/docker.service"
AGENT_UNIT_FILE_DIR = "etc/systemd/system"
CNI_CONFIG_DIR = "opt/mesosphere/etc/dcos/network/cni"
CNI_PLUGIN_DIR = "opt/mesosphere/active/cni"
DCOS_BIN_DIR = "opt/mesosphere/bin"
MESOS_AGENT_ENV_FILE = "opt/mesosphere/etc/mesos-slave-common"
MESOS_AGENT_ROLE_ENV_FILE = "opt/mesosphere/etc/mesos-slave"
DCOS_ENVIRONMENT_FILE = "opt/mesosphere/environment"
STANDIN_BIN_DIR = "bin"

DOCKER_UNIT = "docker"
AGENT_UNIT = "dcos-mesos-slave"
PUBLIC_AGENT_UNIT = "dcos-mesos-slave-public"


def unit_name(name: str) -> str:
    """'docker.service' -> 'docker', as systemctl accepts both."""
    return name[: -len(".service")] if name.endswith(".service") else name


class HostDir:
    """One simulated host: its root, its stored spec and its state paths."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.state_dir = self.root / STATE_DIR
        self._spec: dict | None = None

    @property
    def spec_path(self) -> Path:
        return self.state_dir / "host.json"

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "lock"

    @property
    def faults_path(self) -> Path:
        return self.state_dir / "faults.json"

    @property
    def containers_path(self) -> Path:
        return self.state_dir / "docker-containers.json"

    @property
    def daemon_json(self) -> Path:
        return self.root / DAEMON_JSON

    def unit_state_path(self, unit: str) -> Path:
        return self.state_dir / "units" / f"{unit}.json"

    def load_spec(self) -> dict:
        """The stored host.json (read once); HostSpecError when root is not a prepared host."""
        if self._spec is None:
            spec = store.read_json(self.spec_path, None)
            if not isinstance(spec, dict):
                raise HostSpecError(f"{self.root} is not a prepared host (no {self.spec_path})")
            self._spec = spec
        return self._spec

    @property
    def spec(self) -> dict:
        return self.load_spec()

    @property
    def agent_unit(self) -> str:
        return PUBLIC_AGENT_UNIT if self.spec["public"] else AGENT_UNIT

    @property
    def units(self) -> tuple[str, str]:
        return (DOCKER_UNIT, self.agent_unit)

    def on_host(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def locked(self):
        return store.locked(self.lock_path)

    def log(self, unit: str, action: str, phase: str, ok: bool, **extra: object) -> None:
        """Record a unit action in the events file, when the host has one."""
        path = self.spec.get("events_file")
        if path:
            events.append_event(
                path,
                agent_id=self.spec["agent_id"],
                hostname=self.spec["hostname"],
                unit=unit,
                action=action,
                phase=phase,
                ok=ok,
                **extra,
            )
