"""What a step changed on the host, for the result file: files written, removed or restored,
and units restarted, with how long each took to be active again.

The scheduler reads the result file from the task's sandbox and shows this beside the
step's outcome, so an operator sees what a run did to the host without logging in to it.
"""

import time
from typing import Any, Dict, List

WROTE = "wrote"
REMOVED = "removed"
RESTORED = "restored"
RESTARTED = "restarted"
RELOADED = "reloaded"


class Changes:
    """The changes of one step run, in the order they happened."""

    def __init__(self) -> None:
        self.entries = []  # type: List[Dict[str, Any]]

    def record(self, action: str, target: str) -> int:
        """Note a change; returns its index, for `took`."""
        self.entries.append({"action": action, "target": target, "seconds": None,
                             "_started": time.monotonic()})
        return len(self.entries) - 1

    def took(self, index: int) -> None:
        """The unit changed at `index` is active again: note how long that took."""
        entry = self.entries[index]
        entry["seconds"] = round(time.monotonic() - entry["_started"], 1)

    def as_json(self) -> List[Dict[str, Any]]:
        return [{k: v for k, v in entry.items() if not k.startswith("_")}
                for entry in self.entries]
