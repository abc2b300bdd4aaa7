"""`cni`: place the calico plugins and network config; restart the agent unit only where it
does not read CNI configs at each launch.

Mesos reads `--network_cni_config_dir` again whenever a container names a network it has
not cached (apache/mesos 1.4.3 and 1.8.1 `src/slave/containerizer/mesos/isolators/network/
cni/cni.cpp` `NetworkCniIsolatorProcess::getNetworkConfigJSON(network)`: a cache miss calls
`loadNetworkConfigs` again; a cached file is read again at each use; CHANGELOG 1.2.0,
MESOS-6567; `docs/cni.md` "Adding/Deleting/Modifying CNI networks"). So on an agent with
Mesos >= 1.2 whose CNI flags name our dirs the files are live once written. Elsewhere the
agent must restart, which a run may do only with `--allow-restart` (without: exit 76,
nothing changed).

Journal record "cni" (phases saved before the action they name):
    writing     files are being replaced; originals are backed up, created dirs listed
    restarting  the agent unit's start marker is recorded; restart issued next; exit 75
    done        the agent came back and stayed active with the files in place
    rolling-back / failed   it did not: the previous files are put back, the agent restarted
    removing / removed-restarting   the same two phases for `uninstall`
The run after `restarting` checks the marker: unchanged means the restart never happened.
"""

import json
import logging
import os
from typing import Any, Dict, List, NamedTuple, Optional

from installer import downloads, fsutil
from installer.changes import REMOVED, RESTORED, WROTE
from installer.errors import BadInput, HostError, ServiceError
from installer.host import Host
from installer.result import AGAIN, OK, Outcome, needs_restart
from installer.services import Timing, Unit
from installer.steps import agent_flags, agent_unit

STEP = "cni"
PLUGINS_DIR = "/opt/mesosphere/active/cni"
CONFIG_DIR = "/opt/mesosphere/etc/dcos/network/cni"
CONFIG_NAME = "calico.conf"
BINARY_MODE = 0o755
CONFIG_MODE = 0o644

log = logging.getLogger("calico-installer")


class Placement(NamedTuple):
    """One file the step owns: its host path, wanted bytes (None: absent) and mode."""

    dest: str
    data: Optional[bytes]
    mode: int


def _read_input(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise BadInput("cannot read {} {}: {}".format(what, path, err.strerror)) from err
    if not data:
        raise BadInput("{} {} is empty".format(what, path))
    return data


def _verified(data: bytes, expected: Optional[str], path: str) -> bytes:
    """The plugin's bytes once they match the configured sha256 (None: not pinned)."""
    downloads.check(fsutil.sha256(data), expected, "plugin " + os.path.basename(path))
    return data


def placements(options: Any) -> List[Placement]:
    """The validated files to place; BadInput or ChecksumMismatch before anything is
    touched."""
    calico = _verified(_read_input(options.calico_binary, "plugin binary"),
                       options.calico_sha256, options.calico_binary)
    ipam = _verified(_read_input(options.ipam_binary, "plugin binary"),
                     options.ipam_sha256, options.ipam_binary)
    config = _read_input(options.network_config, "network config")
    try:
        network = json.loads(config.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BadInput("network config {} is not JSON: {}".format(
            options.network_config, err)) from err
    if not isinstance(network, dict) or not network.get("name") or not network.get("type"):
        raise BadInput("network config {} needs a JSON object with 'name' and 'type'".format(
            options.network_config))
    if "/" in options.config_name or options.config_name in ("", ".", ".."):
        raise BadInput("--config-name must be a plain file name, not {!r}".format(
            options.config_name))
    return [
        Placement(os.path.join(options.plugins_dir, "calico"), calico, BINARY_MODE),
        Placement(os.path.join(options.plugins_dir, "calico-ipam"), ipam, BINARY_MODE),
        Placement(os.path.join(options.config_dir, options.config_name), config, CONFIG_MODE),
    ]


class CniSteps:
    """Install and uninstall of the CNI files, sharing the journal and restart discipline."""

    def __init__(self, host: Host, timing: Timing, agent_choice: str) -> None:
        self.host = host
        self.journal = host.journal
        self.timing = timing
        self.agent_choice = agent_choice
        self.record: Dict[str, Any] = self.journal.load(STEP) or {}

    def _unit(self) -> Unit:
        name = self.record.get("unit") or agent_unit.detect(self.host, self.agent_choice)
        return Unit(self.host, name, self.timing)

    def _save(self, phase: str, **fields: Any) -> None:
        self.record.update(fields, phase=phase)
        self.record = self.journal.save(STEP, self.record)

    def _differs(self, dest: str, data: Optional[bytes]) -> bool:
        return fsutil.read_bytes(self.host.path(dest)) != data

    def _shadowing(self, options: Any, config: bytes) -> List[Placement]:
        """Other configs in the config dir that declare our network's name, such as the
        `calico.cni` calico-dcos 0.4.0 wrote: Mesos loads one config per network name and
        skips the others with an error (apache/mesos 1.4.0, src/slave/containerizer/mesos/
        isolators/network/cni/cni.cpp, loadNetworkConfigs), so either might be used. They
        are moved aside like a replaced file: backed up, and put back by uninstall."""
        name = json.loads(config.decode("utf-8"))["name"]
        directory = self.host.path(options.config_dir)
        found = []
        for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
            path = os.path.join(directory, entry)
            if entry == options.config_name or not os.path.isfile(path):
                continue
            try:
                declared = json.loads((fsutil.read_bytes(path) or b"").decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue
            if isinstance(declared, dict) and declared.get("name") == name:
                log.info("%s also declares network %r: moving it aside", entry, name)
                found.append(Placement(os.path.join(options.config_dir, entry), None,
                                       fsutil.file_mode(path, CONFIG_MODE)))
        return found

    def install(self, options: Any) -> Outcome:
        wanted = placements(options)
        wanted += self._shadowing(options, wanted[-1].data)
        unit = self._unit()
        phase = self.record.get("phase")
        reason = agent_flags.restart_reason(self.host, options)
        if phase in ("rolling-back", "restarting") and not options.allow_restart \
                and (phase == "rolling-back" or self._restart_pending(unit)):
            return needs_restart(unit.name, "an interrupted restart must be finished")
        if phase == "rolling-back":
            self._roll_back(unit, self.record.get("reason", "previous run failed"), resumed=True)
        changed = [p for p in wanted if self._differs(p.dest, p.data)]
        if changed:
            if reason is not None and not options.allow_restart:
                return needs_restart(unit.name, reason)
            self._write(changed, unit.name)
            placed = [p.dest for p in changed if p.data is not None]
            aside = [p.dest for p in changed if p.data is None]
            what = ["installed " + ", ".join(placed)] if placed else []
            what += ["moved aside " + ", ".join(aside)] if aside else []
            if reason is None:
                return self._live("; ".join(what))
            return self._restart(unit, "restarting", "; ".join(what), reason)
        if phase == "writing":
            if reason is None:
                return self._live("CNI files in place")
            if not options.allow_restart:
                return needs_restart(unit.name, reason)
            return self._restart(unit, "restarting", "CNI files in place", reason)
        if phase == "restarting":
            if self._restart_pending(unit):
                return self._restart(unit, "restarting", "restart was not issued",
                                     self.record.get("restart_reason") or "")
            try:
                unit.wait_stable()
            except ServiceError as err:
                self._roll_back(unit, err.reason, resumed=False)
            self._save("done", marker=None)
            return Outcome(OK, "CNI files in place; {} restarted and stable".format(unit.name),
                           changed=True)
        if not unit.is_active():
            raise HostError("{} is not active".format(unit.name))
        return Outcome(OK, "CNI plugins and network config already in place")

    def _write(self, changed: List[Placement], unit_name: str) -> None:
        dirs = sorted({os.path.dirname(self.host.path(p.dest)) for p in changed})
        for directory in dirs + [self.journal.state_dir]:
            fsutil.check_writable_dir(directory)
        originals = dict(self.record.get("originals", {}))
        for placement in changed:
            if placement.dest in originals:
                continue
            path = self.host.path(placement.dest)
            current = fsutil.read_bytes(path)
            backup = None
            if current is not None:
                backup = placement.dest.strip("/").replace("/", "_")
                self.journal.save_backup(STEP, backup, current)
            originals[placement.dest] = {"existed": current is not None, "backup": backup,
                                         "mode": fsutil.file_mode(path, placement.mode)}
        created = list(self.record.get("created_dirs", []))
        for directory in dirs:
            created += [d for d in fsutil.missing_dirs(directory) if d not in created]
        files = dict(self.record.get("files", {}))
        files.update((p.dest, fsutil.sha256(p.data)) for p in changed if p.data is not None)
        self._save("writing", unit=unit_name, originals=originals, created_dirs=created,
                   files=files)
        for placement in changed:
            path = self.host.path(placement.dest)
            if placement.data is None:
                fsutil.remove_file(path)
                log.info("moved aside %s", placement.dest)
                continue
            fsutil.ensure_dir(os.path.dirname(path))
            fsutil.atomic_write(path, placement.data, placement.mode)
            self.host.changes.record(WROTE, placement.dest)
            log.info("placed %s", placement.dest)

    def _restart_pending(self, unit: Unit) -> bool:
        """True when the recorded restart provably did not happen (start marker unchanged)."""
        marker = self.record.get("marker")
        return marker is not None and unit.start_marker() == marker

    def _live(self, what: str) -> Outcome:
        """The agent reads the files at each launch: done without a restart."""
        self._save("done", marker=None)
        return Outcome(OK, "{}; the agent reads CNI configs at each launch, no restart".format(
            what), changed=True)

    def _restart(self, unit: Unit, phase: str, what: str, reason: str = "") -> Outcome:
        self._save(phase, marker=unit.start_marker(), restart_reason=reason or None)
        unit.restart()
        because = " ({})".format(reason) if reason else ""
        return Outcome(AGAIN, "{}; restart of {} issued{}, run again to verify".format(
            what, unit.name, because), changed=True,
            details={"restart_reason": reason} if reason else None)

    def _roll_back(self, unit: Unit, reason: str, resumed: bool) -> None:
        """Put the previous files back, restart the agent once more and fail with reason."""
        if not resumed:
            log.warning("%s; restoring the previous CNI files", reason)
            self._save("rolling-back", reason=reason, marker=None)
        for dest, data, mode in self._to_restore():
            self._put_back(dest, data, mode)
        if self.record.get("marker") is None or self._restart_pending(unit):
            self._save("rolling-back", marker=unit.start_marker())
            unit.restart()
        try:
            unit.wait_stable()
        except ServiceError as err:
            self._save("failed", marker=None)
            raise ServiceError("{}; after restoring the previous CNI files: {}".format(
                reason, err.reason)) from err
        self._save("failed", marker=None)
        raise ServiceError("{}; previous CNI files restored and {} is active".format(
            reason, unit.name))

    def _to_restore(self) -> List[tuple]:
        """(dest, original bytes or None, mode) of every placed file that differs from it."""
        differing = []
        for dest, original in sorted(self.record.get("originals", {}).items()):
            data = None
            if original.get("existed"):
                data = self.journal.load_backup(STEP, original["backup"])
            if self._differs(dest, data):
                differing.append((dest, data, original.get("mode", CONFIG_MODE)))
        return differing

    def uninstall(self) -> Optional[Outcome]:
        """Put back what install replaced; an Outcome while a restart is pending, else None."""
        if not self.record:
            return None
        unit = self._unit()
        phase = self.record.get("phase")
        removed = self._to_restore()
        if removed:
            if phase != "removing":
                for dest, _, _ in removed:
                    fsutil.check_writable_dir(os.path.dirname(self.host.path(dest)))
                self._save("removing")
            for dest, data, mode in removed:
                self._put_back(dest, data, mode)
            fsutil.remove_empty_dirs(self.record.get("created_dirs", []))
            return self._restart(unit, "removed-restarting", "removed the CNI files")
        if phase == "removing":
            return self._restart(unit, "removed-restarting", "CNI files removed")
        if phase == "removed-restarting":
            if self._restart_pending(unit):
                return self._restart(unit, "removed-restarting", "restart was not issued")
            unit.wait_stable()
        fsutil.remove_empty_dirs(self.record.get("created_dirs", []))
        for original in self.record.get("originals", {}).values():
            if original.get("backup"):
                self.journal.drop_backup(STEP, original["backup"])
        self.journal.clear(STEP)
        self.record = {}
        return None

    def _put_back(self, dest: str, data: Optional[bytes], mode: int) -> None:
        path = self.host.path(dest)
        if data is None:
            fsutil.remove_file(path)
        else:
            fsutil.atomic_write(path, data, mode)
        self.host.changes.record(REMOVED if data is None else RESTORED, dest)
        log.info("restored %s", dest)


def run(host: Host, options: Any) -> Outcome:
    timing = Timing(options.restart_timeout, options.stable_for, options.poll_interval)
    return CniSteps(host, timing, options.agent_unit).install(options)
