"""Change /etc/docker/daemon.json as one journaled transaction: back up, write, restart
Docker, wait until it is stable, and restore the exact previous bytes if it is not.

Journal phases (record "phase"), each saved before the action it names:
    backed-up   the rollback copy of daemon.json is saved
    written     the new daemon.json is in place
    reloading   Docker was asked to reload the written file (SIGHUP); not yet verified
    restarting  Docker's start marker before the restart is recorded; restart issued next
    rolling-back  the previous bytes are being restored
A re-run after a kill in any restart phase resumes from the saved rollback copy and restarts
Docker only when the recorded start marker shows no restart happened since. A record left in
`reloading` keeps its rollback copy: the next run verifies again, and a restart it then needs
resumes from `written`, so a rollback still restores the bytes from before the change.
"""

import logging
import os
from typing import Any, Callable, Dict, Optional

from installer import fsutil
from installer.changes import REMOVED, RESTORED, WROTE
from installer.errors import HostError, ServiceError
from installer.host import Host
from installer.services import Unit

STEP = "docker"
ROLLBACK_COPY = "daemon.json.rollback"
DEFAULT_MODE = 0o644
IN_PROGRESS = ("backed-up", "written", "restarting", "rolling-back")

log = logging.getLogger("calico-installer")

# target(current bytes or None) -> desired bytes, or None for "no file"
TargetFn = Callable[[Optional[bytes]], Optional[bytes]]


def in_progress(record: Optional[Dict[str, Any]]) -> bool:
    return bool(record) and record.get("phase") in IN_PROGRESS


class DaemonJsonChange:
    """Drives one daemon.json change for `op` ("install" or "uninstall") to a verified end."""

    def __init__(self, host: Host, unit: Unit, path: str, base: Dict[str, Any]) -> None:
        self.host = host
        self.unit = unit
        self.path = path
        self.journal = host.journal
        self.record = dict(base)

    def _save(self, phase: str, **fields: Any) -> None:
        self.record.update(fields, phase=phase)
        self.record = self.journal.save(STEP, self.record)

    def _put(self, data: Optional[bytes], mode: int, action: str = WROTE) -> bool:
        """Make the file hold data (None: absent); True when that needed a change."""
        if fsutil.read_bytes(self.path) == data:
            return False
        self.host.changes.record(REMOVED if data is None else action,
                                 self.host.host_path(self.path))
        path = self.host.write_target(self.path)  # a symlinked daemon.json stays linked
        if data is None:
            fsutil.remove_file(path)
        else:
            directory = os.path.dirname(path)
            missing = fsutil.missing_dirs(directory)
            if missing:
                self.record["created_dirs"] = self.record.get("created_dirs", []) + missing
                self.record = self.journal.save(STEP, self.record)
            fsutil.ensure_dir(directory)
            fsutil.atomic_write(path, data, mode)
        return True

    def _restart_unless_done(self, resumed_phase: Optional[str], phase: str) -> None:
        """Restart Docker unless a previous run in `phase` already did (marker changed)."""
        marker = self.unit.start_marker()
        if resumed_phase == phase and self.record.get("marker") not in (None, marker):
            log.info("%s was restarted by the interrupted run; not restarting again",
                     self.unit.name)
            return
        self._save(phase, marker=marker)
        self.unit.restart()

    def run(self, target: TargetFn, resumed: Optional[Dict[str, Any]],
            restart_anyway: bool = False) -> bool:
        """Apply target(current) and restart Docker; True when something changed (nothing
        when the file already matches, unless restart_anyway). ServiceError after rollback."""
        resumed_phase = resumed.get("phase") if in_progress(resumed) else None
        if resumed_phase == "rolling-back":
            self._roll_back(resumed_phase, self.record.get("reason", "previous run failed"))
        if resumed_phase is None:
            if not self.write(target, force=restart_anyway):
                return False
        else:
            self._write_and_save(target, save=resumed_phase == "backed-up")
        self._restart_unless_done(resumed_phase, "restarting")
        try:
            self.unit.wait_stable()
        except ServiceError as err:
            self._roll_back(None, err.reason)
        return True

    def write(self, target: TargetFn, force: bool = False) -> bool:
        """Back up daemon.json and write target(current) atomically (phases `backed-up`,
        `written`); False when it already holds that (and not forced)."""
        current = fsutil.read_bytes(self.path)
        if target(current) == current and not force:
            return False
        if current is not None:
            self.journal.save_backup(STEP, ROLLBACK_COPY, current)
        self._save("backed-up", backup_existed=current is not None,
                   mode=fsutil.file_mode(self.path, DEFAULT_MODE))
        self._write_and_save(target, save=True)
        return True

    def _write_and_save(self, target: TargetFn, save: bool) -> None:
        if self._put(target(self._rollback_bytes()), self.record.get("mode", DEFAULT_MODE)):
            log.info("wrote %s", self.path)
        if save:
            self._save("written")

    def reload(self) -> bool:
        """Ask the running Docker to reload daemon.json (phase `reloading`); True when
        systemd ran the unit's reload. Whether it took is for the caller to verify."""
        self._save("reloading")
        return self.unit.reload()

    def put_back(self) -> None:
        """Undo a write whose reload did not take, without a restart: the previous bytes
        are back and the rollback copy is dropped (phase `put-back`)."""
        self._put(self._rollback_bytes(), self.record.get("mode", DEFAULT_MODE), RESTORED)
        self.finish("put-back")

    def _rollback_bytes(self) -> Optional[bytes]:
        """The bytes before this change (None: there was no file)."""
        if not self.record.get("backup_existed"):
            return None
        data = self.journal.load_backup(STEP, ROLLBACK_COPY)
        if data is None:
            raise HostError("the rollback copy of {} is missing from {}".format(
                self.path, self.journal.backup_dir(STEP)))
        return data

    def _roll_back(self, resumed_phase: Optional[str], reason: str) -> None:
        log.warning("%s; restoring the previous %s", reason, self.path)
        if resumed_phase != "rolling-back":
            self._save("rolling-back", reason=reason, marker=None)
        self._put(self._rollback_bytes(), self.record.get("mode", DEFAULT_MODE), RESTORED)
        self._restart_unless_done(resumed_phase, "rolling-back")
        try:
            self.unit.wait_stable()
        except ServiceError as err:
            self._save("failed", reason=reason)
            raise ServiceError("{}; after restoring the previous daemon.json: {}".format(
                reason, err.reason)) from err
        self.finish("failed", reason=reason)
        raise ServiceError("{}; previous daemon.json restored and {} is active".format(
            reason, self.unit.name))

    def finish(self, phase: str, **fields: Any) -> None:
        """Record the terminal phase and drop the rollback copy."""
        self.record.pop("marker", None)
        self._save(phase, **fields)
        self.journal.drop_backup(STEP, ROLLBACK_COPY)

