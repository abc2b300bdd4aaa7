"""`etcd-proxy`: the etcd v3 gRPC proxy on 127.0.0.1:2379 in the foreground."""

import logging
import os
import signal
from typing import Any, List
from urllib.parse import urlsplit

from installer.errors import BadInput, HostError
from installer.foreground import run_foreground
from installer.host import Host
from installer.result import OK, Outcome

log = logging.getLogger("calico-installer")


def endpoints(text: str) -> List[str]:
    """Validated etcd client URLs (http or https with a host) from a comma list."""
    urls = [item.strip() for item in text.split(",") if item.strip()]
    if not urls:
        raise BadInput("--endpoints is empty")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput("etcd endpoint {!r} is not an http(s) URL".format(url))
    return urls


def proxy_argv(binary: str, options: Any) -> List[str]:
    argv = [binary, "grpc-proxy", "start", "--listen-addr", options.listen]
    if options.endpoints is not None:
        argv += ["--endpoints", ",".join(endpoints(options.endpoints))]
    else:
        if not options.discovery_srv.strip() or options.discovery_srv.startswith("-"):
            raise BadInput("--discovery-srv {!r} is not a domain".format(options.discovery_srv))
        argv += ["--discovery-srv", options.discovery_srv]
    for flag, attr in (("--cacert", "etcd_ca_file"), ("--cert", "etcd_cert_file"),
                       ("--key", "etcd_key_file")):
        path = getattr(options, attr)
        if path:
            if not os.access(path, os.R_OK):
                raise BadInput("cannot read --{} {}".format(attr.replace("_", "-"), path))
            argv += [flag, path]
    return argv


def run(host: Host, options: Any) -> Outcome:
    binary = options.etcd_binary
    if os.sep not in binary:
        binary = host.which(binary) or ""
    if not binary or not os.access(binary, os.X_OK):
        raise BadInput("etcd binary {!r} not found or not executable".format(
            options.etcd_binary))
    argv = proxy_argv(binary, options)
    log.info("starting etcd proxy on %s", options.listen)
    finished = run_foreground(argv, lambda child: child.send_signal(signal.SIGTERM))
    details = {"listen": options.listen, "exit": finished.returncode}
    if finished.stopped:
        return Outcome(OK, "etcd proxy stopped on request", details=details)
    raise HostError("etcd proxy exited with status {}".format(finished.returncode))
