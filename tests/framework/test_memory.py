"""Large freed blocks leave the resident set (glibc's mmap threshold fixed at start): whole
status documents answered over HTTP, in a process of its own, with and without the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROGRAM = """
import http.client, sys
from framework.memory import return_large_blocks
from tests.web.rollout import FixedStatus
from web import HealthReport, create_app, serve
fixed = sys.argv[1] == "fixed" and return_large_blocks()
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
source = FixedStatus(5000)
app = create_app(source, source, token="t" * 32, health=lambda: HealthReport(ok=True),
                 metrics=dict)
handle = serve(app)
conn = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=120)
conn.request("GET", "/v1/status")
conn.getresponse().read()
before = rss_kb()
for _ in range(12):
    conn.request("GET", "/v1/status")
    conn.getresponse().read()
print(fixed, rss_kb() - before)
handle.stop()
"""


def _growth_kb(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=REPO, check=True,
                         capture_output=True, text=True, timeout=120).stdout.split()
    return out[0], int(out[1])


def test_answering_whole_documents_does_not_grow_the_resident_set():
    fixed, growth = _growth_kb("fixed")
    _, unfixed = _growth_kb("default")
    assert fixed == "True"
    assert growth < 5_000, (growth, unfixed)
    assert unfixed > 2 * growth + 5_000, (growth, unfixed)  # what the fix is for
