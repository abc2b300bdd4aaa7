"""Per-step progress records under the host root, so a killed run resumes where it stopped.

Layout (host paths, prefixed by --root):
    /var/lib/calico-dcos/journal/<step>.json   one JSON object per step
    /var/lib/calico-dcos/backup/<step>/...     byte-exact copies taken before changes
"""

import json
import os
import time
from typing import Any, Dict, Optional

from installer import crashpoints, fsutil
from installer.errors import HostError

STATE_DIR = "/var/lib/calico-dcos"
CREATED_DIRS = "created-dirs.json"


class Journal:
    """Reads and atomically replaces the journal record of each step."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.journal_dir = os.path.join(state_dir, "journal")
        self.backup_root = os.path.join(state_dir, "backup")

    def path(self, step: str) -> str:
        return os.path.join(self.journal_dir, step + ".json")

    def backup_dir(self, step: str) -> str:
        return os.path.join(self.backup_root, step)

    def load(self, step: str) -> Optional[Dict[str, Any]]:
        data = fsutil.read_bytes(self.path(step))
        if data is None:
            return None
        try:
            record = json.loads(data.decode("utf-8"))
        except ValueError as err:
            raise HostError("journal {} is corrupt: {}".format(self.path(step), err)) from err
        if not isinstance(record, dict):
            raise HostError("journal {} is not a JSON object".format(self.path(step)))
        return record

    def _ensure_state_dir(self) -> None:
        """Create the state dir, remembering which host dirs did not exist before."""
        if os.path.isdir(self.state_dir):
            return
        created = fsutil.missing_dirs(self.state_dir)
        fsutil.ensure_dir(self.state_dir)
        parents = [d for d in created if d != self.state_dir]
        body = json.dumps(parents) + "\n"
        fsutil.atomic_write(os.path.join(self.state_dir, CREATED_DIRS), body.encode("utf-8"))

    def save(self, step: str, record: Dict[str, Any]) -> Dict[str, Any]:
        stored = dict(record, step=step, updated_at=time.time())
        self._ensure_state_dir()
        fsutil.ensure_dir(self.journal_dir)
        body = json.dumps(stored, indent=2, sort_keys=True) + "\n"
        fsutil.atomic_write(self.path(step), body.encode("utf-8"))
        if "phase" in stored:
            crashpoints.reached("{}:{}".format(step, stored["phase"]))
        return stored

    def clear(self, step: str) -> None:
        fsutil.remove_file(self.path(step))

    def save_backup(self, step: str, name: str, data: bytes) -> str:
        directory = self.backup_dir(step)
        self._ensure_state_dir()
        fsutil.ensure_dir(directory)
        path = os.path.join(directory, name)
        fsutil.atomic_write(path, data, mode=0o600)
        return path

    def load_backup(self, step: str, name: str) -> Optional[bytes]:
        return fsutil.read_bytes(os.path.join(self.backup_dir(step), name))

    def drop_backup(self, step: str, name: str) -> None:
        fsutil.remove_file(os.path.join(self.backup_dir(step), name))

    def remove_if_empty(self) -> None:
        """Remove the state dir (and host dirs it created) once no record or backup is left."""
        if not os.path.isdir(self.state_dir):
            return
        dirs = [self.journal_dir, self.backup_root]
        if os.path.isdir(self.backup_root):
            dirs += [os.path.join(self.backup_root, d) for d in os.listdir(self.backup_root)]
        fsutil.remove_empty_dirs(dirs)
        leftovers = set(os.listdir(self.state_dir)) - {CREATED_DIRS}
        if leftovers:
            return
        created_path = os.path.join(self.state_dir, CREATED_DIRS)
        data = fsutil.read_bytes(created_path)
        parents = json.loads(data.decode("utf-8")) if data else []
        fsutil.remove_file(created_path)
        fsutil.remove_empty_dirs([self.state_dir] + list(parents))
