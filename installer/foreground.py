"""Run a long-lived child in the foreground; SIGTERM/SIGINT stop it cleanly."""

import logging
import os
import select
import signal
import subprocess
import threading
import time
from typing import Callable, List, NamedTuple, Optional

from installer.errors import HostError, InstallerError

STOP_GRACE_S = 30.0
WATCH_EVERY_S = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = logging.getLogger("calico-installer")


class Finished(NamedTuple):
    returncode: int
    stopped: bool  # True when the run ended because we were asked to stop


class Watch:
    """Checked between waits while the child runs, until `settled`: then the process only
    waits (an idle supervisor of a long-running service should cost no CPU)."""

    settled = False

    def __call__(self) -> Optional[InstallerError]:
        raise NotImplementedError


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
    # A thread blocks in waitpid and the main thread in select on a pipe that the thread
    # and the signal handler write to, so both sleep in the kernel (Popen.wait with a
    # timeout polls waitpid, sleeping at most 50 ms between: CPython 3.11 Lib/subprocess.py
    # `Popen._wait`) and a signal wakes the loop at once (Python runs signal handlers in
    # the main thread, then retries the interrupted select: PEP 475).
    wake_r, wake_w = os.pipe()
    exited = threading.Event()
    reaper = threading.Thread(target=_reap, args=(child, wake_w, exited), daemon=True)
    reaper.start()
    requested = []  # type: List[int]

    def on_signal(signum, frame):
        if requested:
            return
        requested.append(signum)
        log.info("received signal %d; stopping %s", signum, argv[0])
        stop(child)
        os.write(wake_w, b"s")

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    deadline = None
    failed = None  # type: Optional[InstallerError]
    try:
        while not exited.is_set():
            if select.select([wake_r], [], [], _next_wait(watch, requested, deadline))[0]:
                os.read(wake_r, 64)
                continue
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
        if exited.is_set():  # else the reaper may still write, as the process ends
            reaper.join()
            os.close(wake_r)
            os.close(wake_w)
    if failed is not None:
        raise failed
    return Finished(child.wait(), bool(requested))


def _reap(child: "subprocess.Popen[bytes]", wake_w: int, exited: threading.Event) -> None:
    # Stop signals go to the main thread, whose select they interrupt to run the handler.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    child.wait()
    exited.set()
    os.write(wake_w, b"x")


def _next_wait(watch: Optional[Watch], requested: List[int],
               deadline: Optional[float]) -> Optional[float]:
    """Seconds until the loop has something to do (None: only the child's exit or a
    signal)."""
    if requested:
        if deadline is None:
            return 0.0
        if deadline == float("inf"):
            return None
        return max(0.0, deadline - time.monotonic())
    if watch is not None and not watch.settled:
        return WATCH_EVERY_S
    return None
