"""Test helpers: waiting on conditions with deadlines, and a lock holder in a subprocess."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 15.0
SHORT_TTL_S = 2  # the smallest lease etcd grants with its default election timeout



class HolderProcess:
    """`tests.state.lock_holder` as a child process, with its output lines in a queue."""

    def __init__(self, endpoint: str, root: str, ttl_s: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.state.lock_holder", endpoint, root, str(ttl_s)],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, *wanted: str, deadline_s: float = WAIT_S) -> None:
        """Wait until every line in `wanted` was printed, in any order, skipping others."""
        missing = set(wanted)
        end = time.monotonic() + deadline_s
        while missing:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"holder did not print {sorted(missing)} in {deadline_s} s") \
                    from None
            missing.discard(line)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
