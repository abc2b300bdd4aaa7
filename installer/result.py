"""What a step reports: its exit code and a JSON result file in the task sandbox."""

import json
import os
import time
from typing import Any, Dict, List, NamedTuple, Optional

from installer import fsutil

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AGAIN = 75  # EX_TEMPFAIL: progress made, run the step again
# A restart of a unit is needed and this run may not restart one; nothing was changed
# (see installer/README.md, "Restarts"). 76 is EX_PROTOCOL in sysexits.h: the next free
# code after EX_TEMPFAIL, unused by Python, systemd or Mesos's command executor.
EXIT_NEEDS_RESTART = 76

OK = "ok"
SKIPPED = "skipped"
AGAIN = "again"
FAILED = "failed"
EXITED = "exited"
NEEDS_RESTART = "needs-restart"

_EXIT_CODES = {OK: EXIT_OK, SKIPPED: EXIT_OK, AGAIN: EXIT_AGAIN, FAILED: EXIT_FAILED,
               NEEDS_RESTART: EXIT_NEEDS_RESTART}


class Outcome(NamedTuple):
    """The end of one step run; `exit_code` only for foreground steps that mirror a child."""

    status: str
    message: str
    changed: bool = False
    details: Optional[Dict[str, Any]] = None
    exit_code: Optional[int] = None

    @property
    def code(self) -> int:
        if self.exit_code is not None:
            return self.exit_code
        return _EXIT_CODES[self.status]


def needs_restart(unit: str, reason: str,
                  details: Optional[Dict[str, Any]] = None) -> Outcome:
    """Exit 76: a restart of `unit` is needed and not allowed in this run; nothing changed."""
    return Outcome(NEEDS_RESTART, "needs a restart of {}: {}".format(unit, reason),
                   details=dict(details or {}, restart_reason=reason))


def result_path(step: str) -> str:
    return os.path.join(os.getcwd(), "calico-installer-{}.json".format(step))


def write_result(path: str, step: str, outcome: Outcome, started: float,
                 changes: Optional[List[Dict[str, Any]]] = None) -> None:
    body = {
        "step": step,
        "status": outcome.status,
        "exit_code": outcome.code,
        "message": outcome.message,
        "changed": outcome.changed,
        "details": outcome.details or {},
        "changes": changes or [],
        "started_at": started,
        "finished_at": time.time(),
    }
    fsutil.atomic_write(path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8"))
