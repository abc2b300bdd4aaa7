"""`etcd-proxy` with a release-shaped archive holding the real etcd: the archive is checked,
etcd's v2 proxy serves the v2 API on the listen address, and each way it can fail ends with
its documented exit status."""

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import urllib.request

import pytest

from devcluster.etcd import EtcdServer
from devcluster.mirror import etcd_release_archive, file_sha256
from devcluster.ports import free_port
from installer import options as cli_options
from installer.steps.etcd_proxy import proxy_argv
from tests.installer.conftest import last_line, stop_gracefully
from tests.state.tls import TLSEtcd, have_openssl, make_certs

ARCHIVE = "etcd-v3.5.33-linux-amd64.tar.gz"


@pytest.fixture(scope="module")
def release():
    path = etcd_release_archive()
    return path, file_sha256(path)


@pytest.fixture
def proxy_host(make_host, release):
    """A host whose sandbox holds the fetched archive, as the Mesos fetcher leaves it."""
    def make(archive_bytes: bytes | None = None):
        host = make_host()
        target = host.sandbox / ARCHIVE
        if archive_bytes is None:
            shutil.copyfile(release[0], target)
        else:
            target.write_bytes(archive_bytes)
        return host
    return make


def v2_get(port: int, key: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/keys{key}", timeout=5) as resp:
        return json.loads(resp.read())


def proxy_args(sha256: str, peers: str, port: int, *extra: str) -> list:
    return ["--archive", ARCHIVE, "--sha256", sha256, "--peer-urls", peers,
            "--listen", f"127.0.0.1:{port}", *extra]


def test_serves_the_v2_api_of_the_cluster_and_stops_cleanly(proxy_host, release, etcd_server,
                                                           etcd_prefix):
    host = proxy_host()
    port = free_port()
    direct = urllib.request.Request(f"{etcd_server.endpoint}/v2/keys{etcd_prefix}/k",
                                    data=b"value=through", method="PUT")
    urllib.request.urlopen(direct, timeout=5).close()
    proc = host.popen("etcd-proxy", *proxy_args(release[1], etcd_server.peer_endpoint, port))
    try:
        stderr_lines = []
        for line in proc.stderr:
            stderr_lines.append(line)
            if "etcd v2 API reached through the proxy" in line:
                break
        assert v2_get(port, f"{etcd_prefix}/k")["node"]["value"] == "through"
    finally:
        code, _, err = stop_gracefully(proc)
    assert code == 0, "".join(stderr_lines) + err
    assert last_line(err).endswith("etcd proxy stopped on request")
    assert (host.sandbox / "etcd-proxy" / "etcd").read_bytes()[:4] == b"\x7fELF"


def test_a_tampered_archive_fails_before_anything_runs(proxy_host, release):
    tampered = (release[0].read_bytes()) + b"\0"
    host = proxy_host(tampered)
    done = host.run("etcd-proxy", *proxy_args(release[1], "http://127.0.0.1:9", free_port()))
    assert done.returncode == 80
    assert last_line(done.stderr).startswith(f"etcd archive {ARCHIVE} has sha256 ")
    assert last_line(done.stderr).endswith("nothing was installed")
    assert not (host.sandbox / "etcd-proxy").exists()


@pytest.fixture(scope="module")
def etcd_without_v2(tmp_path_factory):
    server = EtcdServer(tmp_path_factory.mktemp("no-v2"), enable_v2=False).start()
    yield server
    server.stop()


def test_a_cluster_without_the_v2_api_is_named(proxy_host, release, etcd_without_v2):
    host = proxy_host()
    done = host.run("etcd-proxy", *proxy_args(release[1], etcd_without_v2.peer_endpoint,
                                              free_port()))
    assert done.returncode == 81, done.stderr
    assert "does not serve the v2 API that Calico v2.6 needs" in last_line(done.stderr)


def test_no_reachable_member_is_named(proxy_host, release):
    host = proxy_host()
    done = host.run("etcd-proxy", *proxy_args(release[1], "http://127.0.0.1:9", free_port(),
                                              "--ready-timeout", "2"))
    assert done.returncode == 82, done.stderr
    assert last_line(done.stderr).startswith("the etcd proxy reached no etcd member")


@pytest.mark.skipif(not have_openssl(), reason="needs the openssl CLI")
def test_forwards_to_a_tls_cluster_with_the_client_certificate(proxy_host, release, tmp_path):
    certs = make_certs(tmp_path / "certs")
    with TLSEtcd(tmp_path / "etcd", certs, enable_v2=True) as server:
        host = proxy_host()
        port = free_port()
        proc = host.popen("etcd-proxy", *proxy_args(
            release[1], f"http://127.0.0.1:{server.peer_port}", port,
            "--etcd-ca-file", str(certs.ca), "--etcd-cert-file", str(certs.client_cert),
            "--etcd-key-file", str(certs.client_key)))
        try:
            for line in proc.stderr:
                if "etcd v2 API reached through the proxy" in line:
                    break
            assert v2_get(port, "/")["action"] == "get"
        finally:
            code, _, err = stop_gracefully(proc)
        assert code == 0, err


def test_an_archive_without_etcd_is_refused(proxy_host, release):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("etcd-v3.5.33-linux-amd64/README.md")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    data = gzip.compress(buffer.getvalue())
    host = proxy_host(data)
    done = host.run("etcd-proxy", *proxy_args(hashlib.sha256(data).hexdigest(),
                                              "http://127.0.0.1:9", free_port()))
    assert done.returncode == 1
    assert "holds no 'etcd' binary" in last_line(done.stderr)


def test_bad_peer_url_and_unreadable_tls_file_are_rejected(proxy_host, release, tmp_path):
    host = proxy_host()
    done = host.run("etcd-proxy", *proxy_args(release[1], "ftp://x:1", free_port()))
    assert done.returncode == 1
    assert last_line(done.stderr) == "etcd peer URL 'ftp://x:1' is not an http(s) URL"
    done = host.run("etcd-proxy", *proxy_args(release[1], "https://127.0.0.1:2380", free_port(),
                                              "--etcd-ca-file", str(tmp_path / "missing.pem")))
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("cannot read --etcd-ca-file")


def test_peers_and_srv_are_exclusive(make_host):
    done = make_host().run("etcd-proxy", "--archive", ARCHIVE, "--peer-urls", "http://a:2380",
                           "--discovery-srv", "etcd.mesos")
    assert done.returncode == 2
    assert "not allowed with argument" in last_line(done.stderr)


def test_refused_on_an_agent_with_dcos_own_calico(make_host):
    host = make_host()
    (host.root / "opt/mesosphere/active/calico").mkdir(parents=True)
    done = host.run("etcd-proxy", "--archive", ARCHIVE, "--peer-urls", "http://a:2380")
    assert done.returncode == 83
    assert "runs DC/OS's own Calico" in last_line(done.stderr)


def test_proxy_argv_with_srv_and_tls(tmp_path):
    files = []
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
        files.append(str(tmp_path / name))
    parsed = cli_options.parse(["etcd-proxy", "--archive", ARCHIVE, "--discovery-srv",
                                "etcd.mesos", "--etcd-ca-file", files[0], "--etcd-cert-file",
                                files[1], "--etcd-key-file", files[2]])
    assert proxy_argv("/s/etcd", parsed, "/s/data") == [
        "/s/etcd", "--proxy", "on", "--listen-client-urls", "http://127.0.0.1:2379",
        "--data-dir", "/s/data", "--discovery-srv", "etcd.mesos",
        "--trusted-ca-file", files[0], "--peer-trusted-ca-file", files[0],
        "--cert-file", files[1], "--peer-cert-file", files[1],
        "--key-file", files[2], "--peer-key-file", files[2]]
    parsed = cli_options.parse(["etcd-proxy", "--archive", ARCHIVE, "--peer-urls",
                                "http://a:2380,https://b:2380"])
    assert "member0=http://a:2380,member1=https://b:2380" in proxy_argv("/s/etcd", parsed, "/d")
