import pytest

from devcluster.host.dockerd import (
    DaemonConfigError,
    effective_config,
    flag_values,
    parse_version,
)

DOCKERD = ["/usr/bin/dockerd", "-H", "fd://"]


@pytest.mark.parametrize("version, parsed", [
    ("1.9.1", (1, 9, 1)),
    ("1.13", (1, 13, 0)),
    ("17.03.2-ce", (17, 3, 2)),
    ("20.10.24", (20, 10, 24)),
    ("24.0.7", (24, 0, 7)),
])
def test_versions_parse_like_docker_prints_them(version, parsed):
    assert parse_version(version) == parsed


def test_before_1_10_daemon_json_is_ignored():
    assert effective_config("1.9.1", b"{broken", DOCKERD + ["--cluster-store=etcd://a"]) == \
        {"cluster-store": "etcd://a"}


def test_no_daemon_json_or_empty_is_an_empty_config():
    assert effective_config("20.10.24", None, DOCKERD) == {}
    assert effective_config("20.10.24", b"  \n", DOCKERD) == {}


def test_file_and_flags_merge_into_the_effective_config():
    config = effective_config("20.10.24", b'{"cluster-store": "etcd://a:2379", "debug": true}',
                              DOCKERD + ["--cluster-advertise=eth0:2376", "--live-restore"])
    assert config == {"cluster-store": "etcd://a:2379", "debug": True,
                      "cluster-advertise": "eth0:2376", "live-restore": "true"}


@pytest.mark.parametrize("version, daemon_json, flags, message", [
    ("20.10.24", b'{"debug": true,', [], "unable to configure the Docker daemon with file "
                                        "/etc/docker/daemon.json: invalid character"),
    ("20.10.24", b'["debug"]', [], "cannot unmarshal"),
    ("20.10.24", b"\xff\xfe", [], "invalid character"),
    ("20.10.24", b'{"colour": "red"}', [], "don't match any configuration option: colour"),
    ("23.0.1", b'{"cluster-store": "etcd://a:2379"}', [],
     "don't match any configuration option: cluster-store"),
    ("24.0.0", b'{"cluster-advertise": "eth0:2376"}', [], "cluster-advertise"),
    ("24.0.0", None, ["--cluster-store=etcd://a:2379"], "unknown flag: --cluster-store"),
    ("20.10.24", b'{"cluster-store": 5}', [], "cannot unmarshal cluster-store"),
    ("20.10.24", b'{"cluster-store": "etcd://b:2379"}', ["--cluster-store", "etcd://a:2379"],
     "specified both as a flag and in the configuration file: cluster-store: "
     "(from flag: etcd://a:2379, from file: etcd://b:2379)"),
])
def test_configs_dockerd_refuses(version, daemon_json, flags, message):
    with pytest.raises(DaemonConfigError) as caught:
        effective_config(version, daemon_json, DOCKERD + flags)
    assert message in str(caught.value)


def test_cluster_store_is_fine_before_23():
    config = effective_config("19.03.15", b'{"cluster-store": "etcd://a:2379"}', DOCKERD)
    assert config == {"cluster-store": "etcd://a:2379"}


def test_flag_values_reads_long_flags_only():
    assert flag_values(["dockerd", "-H", "fd://", "--debug", "--cluster-store", "etcd://x",
                        "--mtu=1400"]) == {"debug": "true", "cluster-store": "etcd://x",
                                           "mtu": "1400"}
