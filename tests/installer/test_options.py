"""Command-line validation: one line on stderr, exit 2, before anything runs."""

import pytest

from tests.installer.conftest import last_line


@pytest.mark.parametrize("args, message", [
    (["docker"], "the following arguments are required: --cluster-store"),
    (["docker", "--cluster-store", "not a url"], "is not a URL like etcd://host:port"),
    (["docker", "--cluster-store", "etcd://e:2379\n"], "is not a URL like etcd://host:port"),
    (["docker", "--cluster-store", "etcd://e:2379", "--daemon-json", "etc/daemon.json"],
     "--daemon-json must be an absolute host path"),
    (["docker", "--cluster-store", "etcd://e", "--cluster-store-opt", "novalue"],
     "expected NAME=VALUE"),
    (["docker", "--cluster-store", "etcd://e", "--stable-for", "-1"], "seconds must be >= 0"),
    (["cni", "--calico-binary", "c", "--ipam-binary", "i", "--network-config", "n",
      "--plugins-dir", "opt/cni"], "--plugins-dir must be an absolute host path"),
    (["node", "--image", "calico/node", "--etcd-endpoints", "http://e:2379", "--felix",
      "bad name=1"], "expected NAME=VALUE"),
    (["node", "--image", "calico/node", "--etcd-endpoints", "http://e:2379", "--felix",
      "NAME\n=1"], "expected NAME=VALUE"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_command_lines(make_host, args, message):
    host = make_host()
    before = host.snapshot()
    done = host.run(*args)
    assert done.returncode == 2
    assert message in last_line(done.stderr)
    assert host.snapshot() == before
