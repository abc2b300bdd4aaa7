"""Stand-in release artifacts (etcd, calico, calico-ipam) served over local HTTP.

The scheduler's default artifact URLs point at public releases, which a local cluster cannot
reach; these small programs take their place. The `etcd` stand-in runs `grpc-proxy start`
in the foreground until SIGTERM (it does not listen: every simulated agent shares this
machine's 127.0.0.1:2379), the CNI plugins answer `version` as the real ones do.
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from devcluster.background import BackgroundServer

ETCD_STANDIN = """#!{python}
import signal, sys, time
if sys.argv[1:3] == ["grpc-proxy", "start"]:
    print("etcd grpc-proxy (devcluster stand-in) started:", " ".join(sys.argv[3:]), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)
if sys.argv[1:2] in (["--version"], ["version"]):
    print("etcd Version: 3.5.1 (devcluster stand-in)")
    sys.exit(0)
print("unsupported:", sys.argv[1:], file=sys.stderr)
sys.exit(2)
"""

CNI_STANDIN = """#!/bin/sh
# {name} CNI plugin (devcluster stand-in)
if [ "$CNI_COMMAND" = VERSION ] || [ "$1" = version ] || [ "$1" = -v ]; then
    echo '{{"cniVersion":"0.3.1","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1"]}}'
    exit 0
fi
echo '{{"code":100,"msg":"{name} stand-in does not configure networks"}}'
exit 1
"""


class ArtifactServer:
    """Writes the stand-ins into a directory and serves it on 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        files = {
            "etcd": ETCD_STANDIN.format(python=sys.executable),
            "calico": CNI_STANDIN.format(name="calico"),
            "calico-ipam": CNI_STANDIN.format(name="calico-ipam"),
        }
        for name, text in files.items():
            path = self.directory / name
            path.write_text(text)
            path.chmod(0o755)
        handler = functools.partial(_QuietHandler, directory=str(self.directory))
        self._server = BackgroundServer(handler, "devcluster-artifacts")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.port}/{name}"

    def start(self) -> ArtifactServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass
