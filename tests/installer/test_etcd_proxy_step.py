"""`etcd-proxy` against a real etcd: serves on the listen address, stops on SIGTERM."""

import sys

import etcd3

from devcluster.etcd import etcd_binary
from devcluster.ports import free_port, wait_for_port
from installer import options as cli_options
from installer.steps.etcd_proxy import proxy_argv
from tests.installer.conftest import last_line, stop_gracefully


def test_proxies_to_etcd_and_stops_cleanly(make_host, etcd_server, etcd_prefix):
    host = make_host()
    port = free_port()
    proc = host.popen("etcd-proxy", "--etcd-binary", etcd_binary(), "--endpoints",
                      etcd_server.endpoint, "--listen", f"127.0.0.1:{port}")
    try:
        assert wait_for_port("127.0.0.1", port, 20), proc.communicate(timeout=5)
        client = etcd3.client(host="127.0.0.1", port=port)
        client.put(etcd_prefix + "/k", "through the proxy")
        direct = etcd3.client(host="127.0.0.1", port=int(etcd_server.endpoint.rsplit(":", 1)[1]))
        assert direct.get(etcd_prefix + "/k")[0] == b"through the proxy"
        client.close()
        direct.close()
    finally:
        code, _, err = stop_gracefully(proc)
    assert code == 0, err
    assert last_line(err).endswith("etcd proxy stopped on request")
    assert host.result("etcd-proxy")["status"] == "ok"


def test_bad_endpoint_is_rejected(make_host):
    host = make_host()
    done = host.run("etcd-proxy", "--etcd-binary", etcd_binary(), "--endpoints", "ftp://x:1")
    assert done.returncode == 1
    assert last_line(done.stderr) == "etcd endpoint 'ftp://x:1' is not an http(s) URL"


def test_missing_binary_is_rejected(make_host, tmp_path):
    host = make_host()
    done = host.run("etcd-proxy", "--etcd-binary", str(tmp_path / "etcd"), "--endpoints",
                    "http://127.0.0.1:2379")
    assert done.returncode == 1
    assert "not found or not executable" in last_line(done.stderr)


def test_unreadable_tls_file_is_rejected(make_host, tmp_path):
    host = make_host()
    done = host.run("etcd-proxy", "--etcd-binary", etcd_binary(), "--endpoints",
                    "https://127.0.0.1:2379", "--etcd-ca-file", str(tmp_path / "missing.pem"))
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("cannot read --etcd-ca-file")


def test_endpoints_and_srv_are_exclusive(make_host):
    host = make_host()
    done = host.run("etcd-proxy", "--endpoints", "http://a:2379", "--discovery-srv", "etcd.mesos")
    assert done.returncode == 2
    assert "not allowed with argument" in last_line(done.stderr)


def test_proxy_exiting_on_its_own_is_a_failure(make_host, tmp_path):
    host = make_host()
    fake = tmp_path / "etcd"
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(4)\n")
    fake.chmod(0o755)
    done = host.run("etcd-proxy", "--etcd-binary", str(fake), "--endpoints", "http://a:2379")
    assert done.returncode == 1
    assert last_line(done.stderr) == "etcd proxy exited with status 4"


def test_listen_address_in_use_fails(make_host, etcd_server):
    host = make_host()
    port = int(etcd_server.endpoint.rsplit(":", 1)[1])  # taken by etcd itself
    done = host.run("etcd-proxy", "--etcd-binary", etcd_binary(), "--endpoints",
                    etcd_server.endpoint, "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("etcd proxy exited with status")


def test_proxy_argv_with_srv_and_tls(tmp_path):
    files = []
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
        files.append(str(tmp_path / name))
    parsed = cli_options.parse(["etcd-proxy", "--discovery-srv", "etcd.mesos",
                                "--etcd-ca-file", files[0], "--etcd-cert-file", files[1],
                                "--etcd-key-file", files[2]])
    assert proxy_argv("/bin/etcd", parsed) == [
        "/bin/etcd", "grpc-proxy", "start", "--listen-addr", "127.0.0.1:2379",
        "--discovery-srv", "etcd.mesos", "--cacert", files[0], "--cert", files[1],
        "--key", files[2]]
