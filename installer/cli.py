"""Entry point: parse options, run one step, write the result file, map to the exit code.

Exit 0: the step's target holds (verified) or the step was skipped with a reason.
Exit 75: progress made; run the step again. Exit 76: a unit restart is needed and the run
was not allowed one (`--allow-restart`); nothing was changed. Anything else: failed. After
76 or a failure the last stderr line is the one-line reason.
"""

import logging
import os
import sys
import time
from typing import Any, Dict, List, Optional

from installer import options as cli_options
from installer.errors import BadInput, InstallerError
from installer.host import Host
from installer.result import (
    EXIT_FAILED,
    FAILED,
    NEEDS_RESTART,
    Outcome,
    result_path,
    write_result,
)
from installer.steps import check, cni, docker, etcd_proxy, ip, node, uninstall, verify

RUNNERS = {
    "docker": docker.run,
    "cni": cni.run,
    "etcd-proxy": etcd_proxy.run,
    "node": node.run,
    "ip": ip.run,
    "check": check.run,
    "uninstall": uninstall.run,
    "verify": verify.run,
}
QUIET_STEPS = ("ip", "check")
CHANGING_STEPS = ("docker", "cni", "uninstall")  # serialised by the host lock
INSTALL_STEPS = ("docker", "cni", "etcd-proxy", "node")  # refused on DC/OS's own Calico

log = logging.getLogger("calico-installer")


def _configure_logging(step: str, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s calico-installer " + step
                                           + " %(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    quiet = logging.WARNING if step in QUIET_STEPS else logging.INFO
    log.setLevel(logging.DEBUG if verbose else quiet)


def run_step(argv: List[str]) -> int:
    options = cli_options.parse(argv)
    _configure_logging(options.step, options.verbose)
    started = time.time()
    path = options.result_file or result_path(options.step)
    host = None
    try:
        if not os.path.isdir(options.root):
            raise BadInput("--root {} is not an accessible directory".format(options.root))
        host = Host(options.root)
        if options.step in INSTALL_STEPS:
            host.refuse_dcos_calico()
        if options.step in CHANGING_STEPS:
            with host.exclusive(options.restart_timeout):
                outcome = RUNNERS[options.step](host, options)
        else:
            outcome = RUNNERS[options.step](host, options)
    except InstallerError as err:
        outcome = Outcome(FAILED, err.reason, exit_code=err.exit_code)
    except KeyboardInterrupt:
        outcome = Outcome(FAILED, "interrupted", exit_code=EXIT_FAILED)
    except Exception as err:  # a bug: keep the traceback, still end with one line
        log.exception("unexpected error")
        outcome = Outcome(FAILED, "unexpected error: {}: {}".format(
            type(err).__name__, " ".join(str(err).split())), exit_code=EXIT_FAILED)
    _report(path, options.step, outcome, started, host.changes.as_json() if host else [])
    return outcome.code


def _report(path: str, step: str, outcome: Outcome, started: float,
            changes: List[Dict[str, Any]]) -> None:
    """Write the result file (best effort), then print the one-line reason last on stderr."""
    try:
        write_result(path, step, outcome, started, changes)
    except InstallerError as err:
        log.warning("no result file: %s", err.reason)
    if outcome.status in (FAILED, NEEDS_RESTART):
        log.error("%s", outcome.message)
        sys.stderr.write("{}\n".format(outcome.message))
    else:
        log.info("%s", outcome.message)
    sys.stderr.flush()


def main(argv: Optional[List[str]] = None) -> int:
    return run_step(sys.argv[1:] if argv is None else argv)
