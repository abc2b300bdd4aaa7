"""`node` on simulated hosts: stale container removed, foreground run, SIGTERM stops it.

The calico/node stand-in registers the node through the etcd v2 API as the image does, so
these run against the session's real etcd (v2 on)."""

import json

import pytest

from tests.installer.conftest import last_line, stop_gracefully
from tests.state.tls import have_openssl, make_certs
from tests.wait import wait_until

IMAGE = "calico/node:v2.6.12"
ETCD = "http://127.0.0.1:2379"  # replaced by the session etcd's endpoint


@pytest.fixture(autouse=True)
def _etcd(etcd_server, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ETCD", etcd_server.endpoint)


def node_args(*extra):
    return ["--image", IMAGE, "--etcd-endpoints", ETCD, "--hostname", "a1.example", *extra]


def inspect(host, name="calico-node"):
    done = host.docker("inspect", "--type", "container", name)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def wait_running(host, proc, not_id=None, deadline_s=30.0):
    def running():
        record = inspect(host)
        if record and record["State"]["Running"] and record["Id"] != not_id:
            return record
        assert proc.poll() is None, proc.communicate()
        return None

    return wait_until(running, deadline_s, "calico-node to start")


def env_of(record):
    return dict(item.split("=", 1) for item in record["Config"]["Env"])


def test_runs_in_foreground_and_stops_on_sigterm(make_host):
    host = make_host()
    proc = host.popen("node", *node_args("--felix", "LOGSEVERITYSCREEN=info"))
    record = wait_running(host, proc)
    env = env_of(record)
    assert env["FELIX_IGNORELOOSERPF"] == "true"
    assert env["FELIX_LOGSEVERITYSCREEN"] == "info"
    assert env["IP"] == "10.0.0.1"  # from the host's detect_ip
    assert env["NODENAME"] == "a1.example" and env["ETCD_ENDPOINTS"] == ETCD
    assert record["Config"]["Image"] == IMAGE
    assert record["HostConfig"]["NetworkMode"] == "host" and record["HostConfig"]["Privileged"]
    code, _, err = stop_gracefully(proc)
    assert code == 0, err
    assert "stopped on request" in last_line(err)
    assert inspect(host) is None  # --rm: nothing left behind
    assert host.result("node")["status"] == "exited"


def test_stale_container_is_replaced(make_host):
    host = make_host()
    assert host.docker("run", "-d", "--name", "calico-node", "calico/node:old").returncode == 0
    stale_id = inspect(host)["Id"]
    proc = host.popen("node", *node_args("--ip", "192.0.2.7"))
    record = wait_running(host, proc, not_id=stale_id)
    assert env_of(record)["IP"] == "192.0.2.7"
    stop_gracefully(proc)


@pytest.mark.skipif(not have_openssl(), reason="needs the openssl CLI")
def test_tls_files_are_mounted(make_host, tmp_path):
    certs = make_certs(tmp_path / "certs")
    host = make_host()
    proc = host.popen("node", *node_args("--etcd-ca-file", str(certs.ca),
                                         "--etcd-cert-file", str(certs.client_cert),
                                         "--etcd-key-file", str(certs.client_key)))
    record = wait_running(host, proc)
    env = env_of(record)
    assert env["ETCD_CA_CERT_FILE"] == "/calico-secrets/etcd-ca.pem"
    assert f"{certs.client_key}:/calico-secrets/etcd-key.pem:ro" in record["HostConfig"]["Binds"]
    stop_gracefully(proc)


def test_node_registers_through_the_v2_api_as_calico_node_does(make_host, etcd_server):
    from devcluster.host.etcdv2 import Client

    host = make_host()
    proc = host.popen("node", *node_args("--hostname", "registered.example", "--ip", "10.9.9.9"))
    wait_running(host, proc)
    stop_gracefully(proc)
    v2 = Client([etcd_server.endpoint])
    assert v2.get("/calico/bgp/v1/host/registered.example/ip_addr_v4")["node"]["value"] == \
        "10.9.9.9"
    assert v2.get("/calico/v1/Ready")["node"]["value"] == "true"
    assert v2.get("/calico/v1/ipam/v4/pool/192.168.0.0-16")["node"]["value"]


def test_unreachable_etcd_ends_the_container_as_calico_node_does(make_host, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ETCD", "http://127.0.0.1:9")
    host = make_host()
    done = host.run("node", *node_args())
    assert done.returncode == 1
    assert "Unable to access datastore to query node configuration" in done.stderr
    assert last_line(done.stderr) == "calico-node exited with status 1"


def test_container_exit_is_reported(make_host):
    host = make_host()
    host.set_fault("container_exit", {"calico-node": 3})
    done = host.run("node", *node_args())
    assert done.returncode == 1
    assert last_line(done.stderr) == "calico-node exited with status 3"


def test_missing_image_fails_with_reason(make_host):
    host = make_host()
    host.set_fault("missing_images", [IMAGE])
    done = host.run("node", *node_args())
    assert done.returncode == 1
    assert last_line(done.stderr) == "calico-node exited with status 125"


def test_bad_tls_path_is_rejected_before_anything_runs(make_host):
    host = make_host()
    assert host.docker("run", "-d", "--name", "calico-node", "calico/node:old").returncode == 0
    done = host.run("node", *node_args("--etcd-ca-file", "relative/ca.pem"))
    assert done.returncode == 1
    assert "--etcd-ca-file must be an absolute path" in last_line(done.stderr)
    assert inspect(host) is not None  # the running container was left alone


def test_env_overrides_defaults_and_autodetect(make_host):
    host = make_host()
    proc = host.popen("node", *node_args("--ip", "autodetect", "--env=IP_AUTODETECTION_METHOD="
                                         "can-reach=10.0.0.254", "--env",
                                         "CALICO_NETWORKING_BACKEND=none"))
    record = wait_running(host, proc)
    env = env_of(record)
    assert env["IP"] == "autodetect"
    assert env["IP_AUTODETECTION_METHOD"] == "can-reach=10.0.0.254"
    assert env["CALICO_NETWORKING_BACKEND"] == "none"
    assert [e.split("=")[0] for e in record["Config"]["Env"]].count("CALICO_NETWORKING_BACKEND") \
        == 1
    stop_gracefully(proc)
