"""systemd units the steps restart, and the wait-until-stable rule after a restart."""

import logging
import time
from typing import NamedTuple, Optional

from installer import crashpoints
from installer.changes import RELOADED, RESTARTED
from installer.errors import HostError, ServiceError
from installer.host import Host

DEFAULT_RESTART_TIMEOUT_S = 180.0
DEFAULT_STABLE_FOR_S = 15.0
DEFAULT_POLL_INTERVAL_S = 1.0
# Together they change on every activation: InvocationID (systemd >= 232) is unique per
# run; the wall-clock ActiveEnterTimestamp and NRestarts cover older systemd.
MARKER_PROPERTIES = "InvocationID,ActiveEnterTimestamp,NRestarts"

log = logging.getLogger("calico-installer")


class Timing(NamedTuple):
    """How long a restarted unit may take to come up, and how long it must then stay up."""

    restart_timeout: float = DEFAULT_RESTART_TIMEOUT_S
    stable_for: float = DEFAULT_STABLE_FOR_S
    poll_interval: float = DEFAULT_POLL_INTERVAL_S


class Unit:
    """One systemd unit driven through `systemctl` on PATH."""

    def __init__(self, host: Host, name: str, timing: Timing) -> None:
        self.host = host
        self.name = name
        self.timing = timing
        self._restarted = None  # type: Optional[int]  # its change, until active again

    def state(self) -> str:
        result = self.host.run(["systemctl", "is-active", self.name])
        return result.stdout.strip() or "unknown"

    def is_active(self) -> bool:
        return self.state() == "active"

    def exists(self) -> bool:
        result = self.host.run(["systemctl", "show", "-p", "LoadState", self.name])
        return result.returncode == 0 and "LoadState=loaded" in result.stdout

    def start_marker(self) -> Optional[str]:
        """A value that changes on every (re)start of the unit, to tell if a restart happened."""
        result = self.host.run(["systemctl", "show", "-p", MARKER_PROPERTIES, self.name])
        if result.returncode != 0:
            return None
        values = sorted(line.strip() for line in result.stdout.splitlines()
                        if "=" in line and line.split("=", 1)[1].strip())
        return ";".join(values) or None

    def restart(self) -> None:
        """Restart and wait for systemd's job; wait_stable() judges the outcome."""
        log.info("restarting %s", self.name)
        self._restarted = self.host.changes.record(RESTARTED, self.name)
        try:
            result = self.host.run(["systemctl", "restart", self.name],
                                   self.timing.restart_timeout)
        except HostError as err:
            log.warning("%s", err.reason)
        else:
            if result.returncode != 0:
                log.warning("systemctl restart %s: %s", self.name, result.reason)
        crashpoints.reached("restarted:" + self.name)

    def reload(self) -> bool:
        """`systemctl reload`: the unit's ExecReload (docker.service's is
        `/bin/kill -s HUP $MAINPID`, moby v1.13.1 to v18.09.9
        `contrib/init/systemd/docker.service`; systemd knows the main PID, so the
        installer never looks for it). True when systemd ran it."""
        log.info("reloading %s", self.name)
        started = time.monotonic()
        try:
            result = self.host.run(["systemctl", "reload", self.name],
                                   self.timing.restart_timeout)
        except HostError as err:
            log.warning("%s", err.reason)
            return False
        if result.returncode != 0:
            log.warning("systemctl reload %s: %s", self.name, result.reason)
            return False
        index = self.host.changes.record(RELOADED, self.name)
        self.host.changes.entries[index]["seconds"] = round(time.monotonic() - started, 1)
        return True

    def wait_stable(self) -> None:
        """Return once the unit is active and stayed active for the stability window."""
        deadline = time.monotonic() + self.timing.restart_timeout
        state = self.state()
        while state != "active":
            if time.monotonic() >= deadline:
                raise ServiceError("{} did not become active within {:.0f}s (state: {})".format(
                    self.name, self.timing.restart_timeout, state))
            time.sleep(self.timing.poll_interval)
            state = self.state()
        if self._restarted is not None:
            self.host.changes.took(self._restarted)
            self._restarted = None
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < self.timing.stable_for:
            time.sleep(min(self.timing.poll_interval, self.timing.stable_for))
            state = self.state()
            if state != "active":
                raise ServiceError("{} left the active state after {:.0f}s (state: {})".format(
                    self.name, time.monotonic() - stable_since, state))
        log.info("%s is active and stayed active for %.1fs", self.name, self.timing.stable_for)
