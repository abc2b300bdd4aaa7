"""`--platform`: which Mesos and which Docker each emulated DC/OS release brings."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from devcluster.__main__ import _cluster_args, _cluster_options
from devcluster.cluster import ClusterOptions
from devcluster.platforms import DEFAULT_PLATFORM, PLATFORMS, on_platform, platform, shipping
from devcluster.versions import DEFAULT_VERSION, VERSIONS


def _options(*argv: str) -> ClusterOptions:
    parser = argparse.ArgumentParser()
    _cluster_args(parser)
    return _cluster_options(parser.parse_args(list(argv)))


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_each_platform_is_the_release_its_mesos_was_read_from(name):
    chosen = platform(name)
    assert VERSIONS[chosen.mesos_version].dcos_release == chosen.dcos_release
    assert chosen.dcos_release.startswith(name + ".")


def test_the_default_is_the_newest_release_emulated():
    newest = max(PLATFORMS, key=lambda n: tuple(int(p) for p in n.split(".")))
    assert newest == DEFAULT_PLATFORM
    assert PLATFORMS[DEFAULT_PLATFORM].mesos_version == DEFAULT_VERSION
    assert ClusterOptions().docker_version == PLATFORMS[DEFAULT_PLATFORM].docker_version


@pytest.mark.parametrize("name, mesos, docker", [("1.10", "1.4", "1.13.1"),
                                                 ("1.13", "1.8", "18.09.2")])
def test_the_platform_sets_mesos_and_docker(name, mesos, docker):
    options = _options("--platform", name)
    assert (options.master.version, options.docker_version) == (mesos, docker)
    base = ClusterOptions(agents=7)
    assert on_platform(base, name) == dataclasses.replace(
        base, docker_version=docker, master=dataclasses.replace(base.master, version=mesos))


def test_mesos_and_docker_versions_override_the_platform():
    options = _options("--platform", "1.10", "--mesos-version", "1.8")
    assert (options.master.version, options.docker_version) == ("1.8", "1.13.1")
    options = _options("--docker-version", "20.10.24")
    assert (options.master.version, options.docker_version) == ("1.8", "20.10.24")


def test_the_platform_shipping_a_mesos():
    assert shipping("1.4") == PLATFORMS["1.10"] and shipping("1.8") == PLATFORMS["1.13"]
    with pytest.raises(ValueError, match="no emulated DC/OS platform ships Mesos '1.5'"):
        shipping("1.5")


def test_an_unknown_platform_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown DC/OS platform '1.11'; emulated: 1.10, 1.13"):
        platform("1.11")
    with pytest.raises(SystemExit):
        _options("--platform", "1.11")
