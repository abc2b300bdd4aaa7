"""Named points where fault-injection tests kill the installer (SIGKILL) to prove recovery.

Set CALICO_INSTALLER_CRASH_AT to one point name, e.g. `docker:written` (after the journal
saved that phase) or `restarted:docker` (right after a unit restart was issued). Unset in
production, where `reached` only compares a string.
"""

import os
import signal

CRASH_ENV = "CALICO_INSTALLER_CRASH_AT"


def reached(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
