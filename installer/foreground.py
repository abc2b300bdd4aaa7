"""Run a long-lived child in the foreground; SIGTERM/SIGINT stop it cleanly."""

import logging
import signal
import subprocess
import time
from typing import Callable, List, NamedTuple, Optional

from installer.errors import HostError, InstallerError

STOP_GRACE_S = 30.0
WAIT_SLICE_S = 0.2

log = logging.getLogger("calico-installer")


class Finished(NamedTuple):
    returncode: int
    stopped: bool  # True when the run ended because we were asked to stop


Watch = Callable[[], Optional[InstallerError]]


def run_foreground(argv: List[str], stop: Callable[["subprocess.Popen[bytes]"], None],
                   grace: float = STOP_GRACE_S, watch: Optional[Watch] = None) -> Finished:
    """Run argv with inherited stdout/stderr; on SIGTERM call stop(child), then wait for it
    up to `grace` seconds before killing it.

    `watch` is called between waits while the child runs: once it returns an error, the
    child is stopped the same way and that error is raised."""
    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    except OSError as err:
        raise HostError("cannot start {}: {}".format(argv[0], err.strerror)) from err
    requested = []  # type: List[int]

    def on_signal(signum, frame):
        if requested:
            return
        requested.append(signum)
        log.info("received signal %d; stopping %s", signum, argv[0])
        stop(child)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    deadline = None
    failed = None  # type: Optional[InstallerError]
    try:
        while True:
            try:
                returncode = child.wait(timeout=WAIT_SLICE_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if watch is not None and not requested and failed is None:
                failed = watch()
                if failed is not None:
                    requested.append(0)
                    log.info("stopping %s: %s", argv[0], failed.reason)
                    stop(child)
            if requested and deadline is None:
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() >= deadline:
                log.warning("%s did not stop within %.0fs; killing it", argv[0], grace)
                child.kill()
                deadline = float("inf")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None:
        raise failed
    return Finished(returncode, bool(requested))
