"""Which DC/OS agent unit runs on this host: dcos-mesos-slave or dcos-mesos-slave-public."""

import os

from installer.errors import HostError
from installer.host import Host

PRIVATE = "dcos-mesos-slave"
PUBLIC = "dcos-mesos-slave-public"
AUTO = "auto"
ROLE_FILES = (("/etc/mesosphere/roles/slave_public", PUBLIC), ("/etc/mesosphere/roles/slave",
                                                               PRIVATE))
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def detect(host: Host, choice: str) -> str:
    """The agent unit: the given name, else from DC/OS role files, unit files, or activity."""
    if choice != AUTO:
        return choice
    for path, unit in ROLE_FILES:
        if os.path.exists(host.path(path)):
            return unit
    for unit in (PUBLIC, PRIVATE):
        if any(os.path.exists(host.path(os.path.join(d, unit + ".service"))) for d in UNIT_DIRS):
            return unit
    for unit in (PUBLIC, PRIVATE):
        if host.run(["systemctl", "is-active", unit]).stdout.strip() == "active":
            return unit
    raise HostError("no DC/OS agent unit ({} or {}) on this host".format(PRIVATE, PUBLIC))
