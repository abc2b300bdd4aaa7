"""Master list parsing and the agent IP: detect_ip first, else a route to a master."""

import os
import stat

import pytest

from installer import addresses
from installer.addresses import Endpoint
from installer.errors import BadInput, HostError
from installer.host import Host


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.1:5050", [Endpoint("10.0.0.1", 5050)]),
    ("10.0.0.1", [Endpoint("10.0.0.1", 5050)]),
    ("m1:5050, m2", [Endpoint("m1", 5050), Endpoint("m2", 5050)]),
    ("zk://z1:2181,z2:2181/mesos", [Endpoint("z1", 2181), Endpoint("z2", 2181)]),
    ("http://leader.mesos:5050/", [Endpoint("leader.mesos", 5050)]),
    ("[fd00::1]:5051", [Endpoint("fd00::1", 5051)]),
    ("[fd00::1]", [Endpoint("fd00::1", 5050)]),
    ("fd00::2", [Endpoint("fd00::2", 5050)]),
    ("::1,127.0.0.1:1", [Endpoint("::1", 5050), Endpoint("127.0.0.1", 1)]),
])
def test_parse_endpoints(text, expected):
    assert addresses.parse_endpoints(text) == expected


@pytest.mark.parametrize("text", ["", " , ", "m1:http", "m1:0", "m1:70000", "[fd00::1",
                                  "[fd00::1]x", ":5050"])
def test_parse_endpoints_rejects(text):
    with pytest.raises(BadInput):
        addresses.parse_endpoints(text)


def test_route_source_ipv4_loopback():
    assert addresses.route_source(Endpoint("127.0.0.1", 5050)) == "127.0.0.1"


def test_route_source_unresolvable():
    with pytest.raises(HostError, match="cannot resolve"):
        addresses.route_source(Endpoint("no-such-host.invalid", 5050))


def _detect_ip(root, body):
    path = root / "opt/mesosphere/bin/detect_ip"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_agent_ip_prefers_detect_ip(tmp_path):
    _detect_ip(tmp_path, "echo 10.1.2.3")
    assert addresses.agent_ip(Host(str(tmp_path)), "127.0.0.1:5050") == "10.1.2.3"


def test_agent_ip_falls_back_to_route_when_detect_ip_fails(tmp_path):
    _detect_ip(tmp_path, "echo garbage; exit 1")
    assert addresses.agent_ip(Host(str(tmp_path)), "127.0.0.1:5050") == "127.0.0.1"


def test_agent_ip_without_detect_ip_or_master(tmp_path):
    with pytest.raises(HostError, match="no --master"):
        addresses.agent_ip(Host(str(tmp_path)), None)


@pytest.mark.skipif(not os.path.exists("/proc/net/if_inet6"), reason="no IPv6")
def test_route_source_ipv6_loopback():
    try:
        found = addresses.route_source(Endpoint("::1", 5050))
    except HostError:
        pytest.skip("IPv6 loopback unusable here")
    assert found == "::1"
