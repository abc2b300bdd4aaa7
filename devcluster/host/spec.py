"""HostSpec: what a simulated host is (identity, Docker version, timings, wiring)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path

from devcluster.host.errors import HostSpecError

DEFAULT_DOCKER_VERSION = "20.10.24"
DEFAULT_DOCKER_RESTART_S = 1.0
DEFAULT_AGENT_RESTART_S = 1.0
VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~][0-9A-Za-z.\-+~]*)?$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,252}$")


@dataclasses.dataclass(frozen=True)
class HostSpec:
    """One simulated DC/OS agent host.

    `control_url` set: the agent unit lives in the master emulator and `systemctl` drives it
    over HTTP. Unset: the agent unit is simulated locally, like docker.
    `docker_flags` are extra dockerd arguments on the unit's ExecStart line (for example
    `--cluster-store=etcd://...` to reproduce a flag/daemon.json conflict).
    `daemon_json` is the initial /etc/docker/daemon.json text (None: no file).
    `netns` names the host's network namespace: stand-ins that talk to the network (the
    docker daemon opening its cluster store, calico/node starting) do it from there.
    """

    agent_id: str
    hostname: str
    ip: str
    public: bool = False
    docker_version: str = DEFAULT_DOCKER_VERSION
    events_file: Path | None = None
    control_url: str | None = None
    docker_restart_s: float = DEFAULT_DOCKER_RESTART_S
    agent_restart_s: float = DEFAULT_AGENT_RESTART_S
    docker_flags: tuple[str, ...] = ()
    daemon_json: str | None = None
    netns: str | None = None  # the host's network namespace (devcluster/netns.py)

    def __post_init__(self) -> None:
        problems = []
        for field in ("agent_id", "hostname"):
            if not NAME_PATTERN.match(getattr(self, field)):
                problems.append(f"{field} {getattr(self, field)!r} must be 1-253 characters "
                                "of letters, digits, '.', '_' or '-'")
        try:
            ipaddress.ip_address(self.ip)
        except ValueError:
            problems.append(f"ip {self.ip!r} is not an IP address")
        if not VERSION_PATTERN.match(self.docker_version):
            problems.append(f"docker_version {self.docker_version!r} is not like 20.10.24")
        for field in ("docker_restart_s", "agent_restart_s"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                problems.append(f"{field} must be a number of seconds >= 0, not {value!r}")
        if self.control_url is not None and not re.match(r"^https?://[^\s]+$", self.control_url):
            problems.append(f"control_url {self.control_url!r} is not an http(s) URL")
        if not all(isinstance(flag, str) and "\n" not in flag for flag in self.docker_flags):
            problems.append("docker_flags must be single-line strings")
        if problems:
            raise HostSpecError("invalid host spec: " + "; ".join(problems))

    def to_json(self) -> dict:
        """The host.json form the stand-ins read."""
        value = dataclasses.asdict(self)
        value["events_file"] = None if self.events_file is None else str(self.events_file)
        value["docker_flags"] = list(self.docker_flags)
        return value

    @classmethod
    def from_json(cls, value: dict) -> HostSpec:
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise HostSpecError(f"unknown host spec keys: {sorted(unknown)}")
        fields = dict(value)
        if fields.get("events_file") is not None:
            fields["events_file"] = Path(fields["events_file"])
        fields["docker_flags"] = tuple(fields.get("docker_flags", ()))
        try:
            return cls(**fields)
        except TypeError as exc:
            raise HostSpecError(f"invalid host spec: {exc}") from exc
