"""Typed errors of the installer; every one carries a one-line reason for the operator."""


class InstallerError(Exception):
    """Root of every error the installer reports as a failed step (exit 1)."""

    exit_code = 1

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))

    @property
    def reason(self) -> str:
        return str(self)


class BadInput(InstallerError):
    """An option, input file or existing host file is unusable; nothing was changed."""


class HostError(InstallerError):
    """The host refused an operation (read-only root, unreadable dir, failing command)."""


class ServiceError(InstallerError):
    """A systemd unit did not reach or keep the active state in time."""


# Failures with a documented exit status: the Mesos command executor reports only the status
# ("Command exited with status 81"), so the scheduler words the reason from it.


class ChecksumMismatch(InstallerError):
    """A fetched file is not the one configured (sha256); nothing was installed or run."""

    exit_code = 80


class NoEtcdV2(InstallerError):
    """The etcd the local proxy forwards to does not serve the v2 API Calico v2.6 uses."""

    exit_code = 81


class NoEtcdMember(InstallerError):
    """The local proxy reaches no etcd member."""

    exit_code = 82


class DcosCalico(InstallerError):
    """This agent runs DC/OS's own Calico and etcd (DC/OS 2.1+); nothing may change here."""

    exit_code = 83


class PeerUnreachable(InstallerError):
    """From its Calico address, the verify task cannot reach the agent's calico/node."""

    exit_code = 84


class DockerNetworkFailed(InstallerError):
    """Docker cannot create (or remove) a network with Calico's libnetwork drivers."""

    exit_code = 85
