"""The DC/OS releases the dev cluster emulates: the Mesos each ships and the Docker its agents run.

Sources, per release (github:dcos/dcos at the release tag, and DC/OS's docs):

- DC/OS 1.10.11: `packages/mesos/buildinfo.json` pins apache/mesos e929d413 (branch 1.4.x,
  1.4.3), emulated as Mesos "1.4" (devcluster.versions). Docker: the release's own agent
  images install docker-engine 1.13.1 (`cloud_images/centos7/install_prereqs.sh`), within
  the docs' version policy for 1.10 (Docker 1.11 to 1.13, CE 17.05, EE 17.06.2).
- DC/OS 1.13.9: `packages/mesos/buildinfo.json` pins apache/mesos bb32bf87 (branch 1.8.x,
  1.8.2), emulated as Mesos "1.8". Docker: CE 18.09.2, the newest Docker of the docs'
  version policy for the 1.12/1.13 releases (the release's CoreOS images carry 18.06.1,
  `gen/build_deploy/aws.py`; its preflight `gen/build_deploy/bash.py` only requires >= 1.6).

DC/OS 1.11 (Mesos 1.5) and 1.12 (Mesos 1.7) are not emulated: their Mesos is not modelled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devcluster.versions import named

if TYPE_CHECKING:
    from devcluster.cluster import ClusterOptions


@dataclass(frozen=True)
class Platform:
    name: str  # the DC/OS minor release, as `--platform` takes it
    dcos_release: str  # the patch release whose sources were read
    mesos_version: str  # a key of devcluster.versions.VERSIONS
    docker_version: str  # what the dockerd stand-in reports (`docker version` Server.Version)


PLATFORMS: dict[str, Platform] = {
    "1.10": Platform(name="1.10", dcos_release="1.10.11", mesos_version="1.4",
                     docker_version="1.13.1"),
    "1.13": Platform(name="1.13", dcos_release="1.13.9", mesos_version="1.8",
                     docker_version="18.09.2"),
}
# The newest DC/OS release emulated.
DEFAULT_PLATFORM = "1.13"



def platform(name: str) -> Platform:
    return named(PLATFORMS, name, "DC/OS platform")


def shipping(mesos_version: str) -> Platform:
    """The emulated release that ships Mesos `mesos_version` ("1.4", "1.8")."""
    for candidate in PLATFORMS.values():
        if candidate.mesos_version == mesos_version:
            return candidate
    raise ValueError(f"no emulated DC/OS platform ships Mesos {mesos_version!r}")


def on_platform(options: ClusterOptions, name: str) -> ClusterOptions:
    """`options` with the Mesos and the Docker of DC/OS release `name`."""
    chosen = platform(name)
    return dataclasses.replace(
        options, docker_version=chosen.docker_version,
        master=dataclasses.replace(options.master, version=chosen.mesos_version))
