"""`etcd-proxy`: etcd's v2 API proxy on 127.0.0.1:2379, in the foreground.

Every Calico v2.6 client on an agent speaks the etcd v2 API (calico/node, the CNI plugin v1.11
and Docker's `etcd://` cluster store), so the proxy must serve v2. Of the modes of the etcd
release we pin (etcd-io/etcd v3.5.33), only `etcd --proxy on` does, with TLS towards the
cluster (see installer/README.md for the comparison). It finds the members through their peer
URLs (`/members` on the peer port) or DNS SRV, then forwards client requests to their client
URLs. The step verifies the archive, unpacks its `etcd`, runs the proxy and fails with a
documented exit status unless a v2 request through the proxy reaches the cluster in time.
"""

import json
import logging
import os
import signal
import time
import urllib.error
import urllib.request
from typing import Any, List, Optional
from urllib.parse import urlsplit

from installer import downloads
from installer.errors import BadInput, HostError, InstallerError, NoEtcdMember, NoEtcdV2
from installer.foreground import Watch, run_foreground
from installer.host import Host
from installer.result import OK, Outcome

LISTEN = "127.0.0.1:2379"  # where every Calico client on the agent looks for etcd
PROXY_DIR = "etcd-proxy"  # in the task sandbox: the unpacked etcd and the proxy's data dir
READY_TIMEOUT_S = 60.0
PROBE_TIMEOUT_S = 2.0
PROBE_EVERY_S = 0.5
NO_V2_PROBES = 3  # consecutive 404s that prove the v2 API is missing
# A v2 keys read of the root: 200 with {"action": "get"} from any etcd serving v2.
PROBE_PATH = "/v2/keys/"

log = logging.getLogger("calico-installer")


def peer_urls(text: str) -> List[str]:
    """Validated peer URLs (http or https with a host) from a comma list."""
    urls = [item.strip() for item in text.split(",") if item.strip()]
    if not urls:
        raise BadInput("--peer-urls is empty")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput("etcd peer URL {!r} is not an http(s) URL".format(url))
    return urls


def proxy_argv(binary: str, options: Any, data_dir: str) -> List[str]:
    """`etcd --proxy on` as etcd v3.5.33 `server/etcdmain/etcd.go` `startProxy` reads it:
    client TLS files for forwarded requests, the same files as peer TLS for `/members`."""
    argv = [binary, "--proxy", "on", "--listen-client-urls", "http://" + options.listen,
            "--data-dir", data_dir]
    if options.peer_urls is not None:
        members = peer_urls(options.peer_urls)
        argv += ["--initial-cluster",
                 ",".join("member{}={}".format(i, url) for i, url in enumerate(members))]
    else:
        domain = options.discovery_srv.strip()
        if not domain or domain.startswith("-"):
            raise BadInput("--discovery-srv {!r} is not a domain".format(options.discovery_srv))
        argv += ["--discovery-srv", domain]
    for attr, client_flag, peer_flag in (
            ("etcd_ca_file", "--trusted-ca-file", "--peer-trusted-ca-file"),
            ("etcd_cert_file", "--cert-file", "--peer-cert-file"),
            ("etcd_key_file", "--key-file", "--peer-key-file")):
        path = getattr(options, attr)
        if path:
            if not os.access(path, os.R_OK):
                raise BadInput("cannot read --{} {}".format(attr.replace("_", "-"), path))
            argv += [client_flag, path, peer_flag, path]
    return argv


class ReadyProbe(Watch):
    """Watches the proxy until a v2 read through it succeeds; then stays quiet.

    A 404 is the cluster (or a proxy that is not a v2 proxy) refusing the v2 API; anything
    else (refused connection, 503 "zero endpoints") means no member was reached yet."""

    def __init__(self, listen: str, where: str, timeout_s: float) -> None:
        self.listen = listen
        self.url = "http://{}{}".format(listen, PROBE_PATH)
        self.where = where
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.next_probe = 0.0
        self.not_found = 0
        self.last = "no answer yet"

    def __call__(self) -> Optional[InstallerError]:
        now = time.monotonic()
        if self.settled or now < self.next_probe:
            return None
        self.next_probe = now + PROBE_EVERY_S
        serves_v2, status, body = v2_status(self.listen)
        if serves_v2:
            self.settled = True
            log.info("etcd v2 API reached through the proxy at %s", self.url)
            return None
        self.not_found = self.not_found + 1 if status == 404 else 0
        self.last = body if status is None else "{} {}".format(status, body)
        if self.not_found >= NO_V2_PROBES:
            return NoEtcdV2("GET {} answers 404: the etcd behind the proxy ({}) does not serve "
                            "the v2 API that Calico v2.6 needs (etcd 3.4+: start it with "
                            "--enable-v2)".format(PROBE_PATH, self.where))
        if now >= self.deadline:
            return NoEtcdMember("the etcd proxy reached no etcd member ({}) within {:.0f}s: "
                                "{}".format(self.where, self.timeout_s, self.last))
        return None


def v2_status(listen: str) -> tuple:
    """(answers the v2 API, HTTP status or None, one line of body or error) on `listen`."""
    status, body = _get("http://{}{}".format(listen, PROBE_PATH))
    return status == 200 and _is_v2_answer(body), status, body


def _get(url: str) -> tuple:
    """(status or None, one line of body or error) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as resp:
            return resp.status, _line(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, _line(err.read())
    except (OSError, ValueError) as err:
        return None, str(getattr(err, "reason", err))


def _line(body: bytes) -> str:
    return " ".join(body.decode("utf-8", "replace").split())[:200]


def _is_v2_answer(body: str) -> bool:
    try:
        return json.loads(body).get("action") == "get"
    except (ValueError, AttributeError):
        return False


def run(host: Host, options: Any) -> Outcome:
    archive = os.path.abspath(options.archive)
    downloads.verify(archive, options.sha256, "etcd archive")
    work = os.path.abspath(PROXY_DIR)
    binary = downloads.unpack_member(archive, "etcd", os.path.join(work, "etcd"))
    argv = proxy_argv(binary, options, os.path.join(work, "data"))
    where = options.peer_urls or "SRV records of {}".format(options.discovery_srv)
    log.info("starting etcd's v2 proxy on %s for %s", options.listen, where)
    finished = run_foreground(argv, lambda child: child.send_signal(signal.SIGTERM),
                              watch=ReadyProbe(options.listen, where, options.ready_timeout))
    details = {"listen": options.listen, "exit": finished.returncode}
    if finished.stopped:
        return Outcome(OK, "etcd proxy stopped on request", details=details)
    raise HostError("etcd proxy exited with status {}".format(finished.returncode))
