"""The host the installer changes: a root directory for paths, PATH for commands."""

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import subprocess
import time
from typing import Iterator, List, NamedTuple, Optional

from installer.changes import Changes
from installer.errors import DcosCalico, HostError
from installer.journal import STATE_DIR, Journal

ROOT_ENV = "CALICO_HOST_ROOT"
# DC/OS 2.1 and later install their own Calico v3 (and run etcd on the masters): the package
# is active at this path (dcos/dcos 2.1.0 `packages/calico`; `gen/dcos-config.yaml` puts
# /opt/mesosphere/active/calico/cni on the agent's CNI plugin path and writes its own
# network config to /opt/mesosphere/etc/dcos/network/cni/calico.conf).
DCOS_CALICO_PACKAGE = "/opt/mesosphere/active/calico"
COMMAND_TIMEOUT_S = 120.0
LOCK_POLL_S = 0.1
MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS: more links in a row is ELOOP

log = logging.getLogger("calico-installer")


class CommandResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def reason(self) -> str:
        """The last non-empty line the command printed, for one-line error messages."""
        lines = [line for line in (self.stderr + "\n" + self.stdout).splitlines() if line.strip()]
        return lines[-1].strip() if lines else "exit status {}".format(self.returncode)


def default_root() -> str:
    return os.environ.get(ROOT_ENV) or "/"


class Host:
    """Maps host paths under a root and runs host commands (argument lists, never a shell)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.journal = Journal(self.path(STATE_DIR))
        self.changes = Changes()

    def path(self, host_path: str) -> str:
        """The real location of an absolute host path under the root."""
        return os.path.join(self.root, host_path.lstrip("/"))

    def write_target(self, path: str) -> str:
        """Where a write to `path` (a real path under the root) must land: its symlinks
        followed, an absolute link target taken as a host path under the root. Replacing
        the link itself would turn a daemon.json kept elsewhere into a stray copy."""
        for _ in range(MAX_SYMLINKS):
            try:
                target = os.readlink(path)
            except FileNotFoundError:
                return path
            except OSError as err:
                if err.errno == errno.EINVAL:  # not a symlink
                    return path
                raise HostError("cannot read link {}: {}".format(path, err.strerror)) from err
            if os.path.isabs(target):
                path = self.path(target)
            else:
                path = os.path.join(os.path.dirname(path), target)
        raise HostError("too many levels of symbolic links at {}".format(path))

    def host_path(self, path: str) -> str:
        """The host path of a real location under the root (the inverse of `path`)."""
        return "/" + os.path.relpath(path, self.root)

    @contextlib.contextmanager
    def exclusive(self, wait: float) -> Iterator[None]:
        """Hold the host-wide installer lock: an flock on the state dir's nearest existing
        parent (no file is created), so two steps never change one host at once."""
        directory = os.path.dirname(self.journal.state_dir)
        while not os.path.isdir(directory) and directory != os.path.dirname(directory):
            directory = os.path.dirname(directory)
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError as err:
            raise HostError("cannot open {}: {}".format(directory, err.strerror)) from err
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise HostError("another calico-installer step is changing this host "
                                        "(lock on {} held)".format(directory)) from None
                    time.sleep(LOCK_POLL_S)
            yield
        finally:
            os.close(fd)

    def refuse_dcos_calico(self) -> None:
        """Stop before changing anything on an agent that runs DC/OS's own Calico."""
        if os.path.lexists(self.path(DCOS_CALICO_PACKAGE)):
            raise DcosCalico("this agent runs DC/OS's own Calico ({} exists: DC/OS 2.1 or "
                             "later); installing Calico v2.6 over it would break its "
                             "networking, so nothing was changed".format(DCOS_CALICO_PACKAGE))

    def which(self, command: str) -> Optional[str]:
        return shutil.which(command)

    def require(self, command: str) -> str:
        found = self.which(command)
        if found is None:
            raise HostError("'{}' not found on PATH".format(command))
        return found

    def run(self, argv: List[str], timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        """Run argv to completion and capture its output; a missing command is a HostError."""
        log.debug("running %s", argv)
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
                timeout=timeout,
            )
        except FileNotFoundError as err:
            where = "" if os.sep in argv[0] else " on PATH"
            raise HostError("'{}' not found{}".format(argv[0], where)) from err
        except PermissionError as err:
            raise HostError("'{}' is not executable".format(argv[0])) from err
        except subprocess.TimeoutExpired as err:
            raise HostError("'{}' did not finish within {:.0f}s".format(
                " ".join(argv[:2]), timeout)) from err
        return CommandResult(proc.returncode, proc.stdout, proc.stderr)

    def check(self, argv: List[str], timeout: float = COMMAND_TIMEOUT_S) -> str:
        """Run argv and return its stdout; a non-zero exit is a HostError with its reason."""
        result = self.run(argv, timeout)
        if result.returncode != 0:
            raise HostError("'{}' failed: {}".format(" ".join(argv[:3]), result.reason))
        return result.stdout
