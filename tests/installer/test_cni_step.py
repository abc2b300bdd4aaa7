"""`cni` on simulated hosts: place files, one agent restart, exit 75, verify on re-run."""

import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.installer.conftest import FAST_TIMING, RESTART_OK, last_line

PLUGINS = "/opt/mesosphere/active/cni"
CONFIGS = "/opt/mesosphere/etc/dcos/network/cni"
NETWORK = {"name": "calico", "cniVersion": "0.2.0", "type": "calico",
           "ipam": {"type": "calico-ipam"}, "etcd_endpoints": "http://127.0.0.1:2379"}


def inputs(host, calico=b"#!/bin/sh\necho calico v1\n", ipam=b"#!/bin/sh\necho ipam v1\n",
           network=None):
    (host.sandbox / "calico").write_bytes(calico)
    (host.sandbox / "calico-ipam").write_bytes(ipam)
    config = json.dumps(network or NETWORK).encode() if not isinstance(network, bytes) \
        else network
    (host.sandbox / "calico.conf").write_bytes(config)
    return ["--calico-binary", "calico", "--ipam-binary", "calico-ipam",
            "--network-config", "calico.conf"]


def cni_step(host, args, *extra, **kwargs):
    return host.run("cni", *args, *RESTART_OK, *extra, **kwargs)


def converge(host, args, max_runs=4):
    """Run the step until it exits 0; the exit codes seen."""
    codes = []
    for _ in range(max_runs):
        done = cni_step(host, args)
        codes.append(done.returncode)
        if done.returncode != 75:
            assert done.returncode == 0, done.stderr
            return codes
    raise AssertionError(f"no convergence: {codes}")


def test_fresh_install_restarts_agent_once_then_verifies(make_host):
    host = make_host()
    args = inputs(host)
    first = cni_step(host, args)
    assert first.returncode == 75, first.stderr
    assert "restart of dcos-mesos-slave issued" in last_line(first.stderr)
    assert host.result("cni")["status"] == "again"
    assert [(c["action"], c["target"], c["seconds"]) for c in host.result("cni")["changes"]] == [
        ("wrote", PLUGINS + "/calico", None), ("wrote", PLUGINS + "/calico-ipam", None),
        ("wrote", CONFIGS + "/calico.conf", None), ("restarted", "dcos-mesos-slave", None)]
    plugin = host.file(PLUGINS + "/calico")
    assert plugin.read_bytes() == b"#!/bin/sh\necho calico v1\n"
    assert plugin.stat().st_mode & 0o777 == 0o755
    assert host.file(PLUGINS + "/calico-ipam").stat().st_mode & 0o777 == 0o755
    assert json.loads(host.file(CONFIGS + "/calico.conf").read_text()) == NETWORK
    assert host.file(CONFIGS + "/calico.conf").stat().st_mode & 0o777 == 0o644
    second = cni_step(host, args)
    assert second.returncode == 0, second.stderr
    assert "restarted and stable" in last_line(second.stderr)
    third = cni_step(host, args)
    assert third.returncode == 0 and "already in place" in last_line(third.stderr)
    assert host.restarts("dcos-mesos-slave") == 1
    assert host.file(CONFIGS + "/dcos.conf").exists()  # DC/OS's own network untouched


def test_public_agent_restarts_the_public_unit(make_host):
    host = make_host(public=True)
    assert converge(host, inputs(host)) == [75, 0]
    assert host.restarts("dcos-mesos-slave-public") == 1
    assert host.restarts("dcos-mesos-slave") == 0


def test_changed_binary_replaces_only_that_file_and_restarts_once(make_host):
    host = make_host()
    converge(host, inputs(host))
    ipam = host.file(PLUGINS + "/calico-ipam")
    ipam_inode = ipam.stat().st_ino
    assert converge(host, inputs(host, calico=b"#!/bin/sh\necho calico v2\n")) == [75, 0]
    assert host.file(PLUGINS + "/calico").read_bytes().endswith(b"v2\n")
    assert ipam.stat().st_ino == ipam_inode
    assert host.restarts("dcos-mesos-slave") == 2


def test_existing_plugin_is_replaced_and_kept_for_uninstall(make_host):
    host = make_host()
    old = host.file(PLUGINS + "/calico")
    old.write_bytes(b"old calico from another installer")
    old.chmod(0o700)
    converge(host, inputs(host))
    backups = host.root / "var/lib/calico-dcos/backup/cni"
    assert (backups / "opt_mesosphere_active_cni_calico").read_bytes() == \
        b"old calico from another installer"


@pytest.mark.parametrize("point", ["cni:writing", "cni:restarting",
                                   "restarted:dcos-mesos-slave", "cni:done"])
def test_kill_at_every_journal_point_converges_with_one_restart(make_host, point):
    host = make_host()
    args = inputs(host)
    codes = [cni_step(host, args, crash_at=point).returncode for _ in range(2)]
    assert -9 in codes, codes
    converge(host, args)
    assert host.restarts("dcos-mesos-slave") == 1
    assert host.file(PLUGINS + "/calico").exists()
    assert cni_step(host, args).returncode == 0
    assert host.restarts("dcos-mesos-slave") == 1


def test_agent_never_coming_back_fails_after_restoring(make_host):
    host = make_host()
    args = inputs(host)
    host.set_fault("agent_never_starts")
    assert cni_step(host, args).returncode == 75
    done = cni_step(host, args, "--restart-timeout", "0.3")
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("dcos-mesos-slave did not become active within")
    assert "after restoring the previous CNI files" in last_line(done.stderr)
    assert not host.file(PLUGINS + "/calico").exists()


@pytest.mark.parametrize("change, reason", [
    (lambda s: (s / "calico").unlink(), "cannot read plugin binary calico: No such file"),
    (lambda s: (s / "calico-ipam").write_bytes(b""), "plugin binary calico-ipam is empty"),
    (lambda s: (s / "calico.conf").write_text("{oops"), "network config calico.conf is not JSON"),
    (lambda s: (s / "calico.conf").write_text('{"type": "calico"}'), "needs a JSON object"),
])
def test_bad_input_changes_nothing(make_host, change, reason):
    host = make_host()
    args = inputs(host)
    change(host.sandbox)
    before = host.snapshot()
    done = cni_step(host, args)
    assert done.returncode == 1
    assert reason in last_line(done.stderr)
    assert host.snapshot() == before and host.restarts("dcos-mesos-slave") == 0


def test_plugins_dir_that_is_a_file_changes_nothing(make_host):
    host = make_host()
    args = inputs(host)
    shutil.rmtree(host.file(PLUGINS))
    host.file(PLUGINS).write_text("not a dir")
    before = host.snapshot()
    done = cni_step(host, args)
    assert done.returncode == 1
    assert last_line(done.stderr).endswith("active/cni/calico: Not a directory")
    assert host.snapshot() == before


def test_unreadable_root_as_unprivileged_user(make_host):
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv missing")
    host = make_host()
    args = inputs(host)
    shared = Path(tempfile.mkdtemp(prefix="calico-installer-test-"))
    try:
        shared.chmod(0o777)
        shutil.copy(host.pyz, shared / "calico-installer.pyz")
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                sys.executable, str(shared / "calico-installer.pyz"), "cni", *args]
        done = subprocess.run(argv, cwd=shared, env=host.env, capture_output=True, text=True,
                              timeout=60)
    finally:
        shutil.rmtree(shared)
    assert done.returncode == 1
    assert last_line(done.stderr) == f"--root {host.root} is not an accessible directory"
    assert not host.file(PLUGINS + "/calico").exists()


def _clear_agent_fault_after_failure(host):
    host.wait_for_event(lambda e: e["unit"] == "dcos-mesos-slave" and e["phase"] == "end"
                        and not e["ok"])
    host.set_fault("agent_never_starts", False)


def test_agent_not_coming_back_restores_previous_files(make_host):
    host = make_host()
    old = host.file(PLUGINS + "/calico")
    old.write_bytes(b"previous calico")
    before = host.snapshot()
    args = inputs(host)
    host.set_fault("agent_never_starts")
    assert cni_step(host, args).returncode == 75
    watcher = threading.Thread(target=_clear_agent_fault_after_failure, args=(host,))
    watcher.start()
    done = cni_step(host, args, "--restart-timeout", "2")
    watcher.join()
    assert done.returncode == 1
    assert last_line(done.stderr).endswith(
        "previous CNI files restored and dcos-mesos-slave is active")
    assert old.read_bytes() == b"previous calico"
    assert not host.file(CONFIGS + "/calico.conf").exists()
    assert host.restarts("dcos-mesos-slave") == 2
    assert host.result("cni")["status"] == "failed"
    assert host.run("uninstall", *FAST_TIMING).returncode == 0
    assert host.snapshot() == before


def test_kill_during_rollback_resumes_it(make_host):
    host = make_host()
    args = inputs(host)
    host.set_fault("agent_never_starts")
    assert cni_step(host, args).returncode == 75
    killed = cni_step(host, args, "--restart-timeout", "0.3", crash_at="cni:rolling-back")
    assert killed.returncode == -9
    host.set_fault("agent_never_starts", False)
    done = cni_step(host, args)
    assert done.returncode == 1
    assert last_line(done.stderr).endswith("previous CNI files restored and dcos-mesos-slave "
                                           "is active")
    assert not host.file(PLUGINS + "/calico").exists()
    assert host.restarts("dcos-mesos-slave") == 2


def test_plugins_are_checked_against_their_configured_sha256(make_host):
    import hashlib

    host = make_host()
    calico, ipam = b"#!/bin/sh\necho calico v1\n", b"#!/bin/sh\necho ipam v1\n"
    args = inputs(host, calico, ipam)
    good = ["--calico-sha256", hashlib.sha256(calico).hexdigest(),
            "--ipam-sha256", hashlib.sha256(ipam).hexdigest()]
    tampered = cni_step(host, [*args, "--calico-sha256", "0" * 64,
                               "--ipam-sha256", hashlib.sha256(ipam).hexdigest()])
    assert tampered.returncode == 80, tampered.stderr
    assert last_line(tampered.stderr).startswith("plugin calico has sha256 ")
    assert last_line(tampered.stderr).endswith("nothing was installed")
    assert not host.file(PLUGINS + "/calico").exists()
    assert not host.file(CONFIGS + "/calico.conf").exists()
    assert host.restarts("dcos-mesos-slave") == 0
    assert converge(host, [*args, *good]) == [75, 0]


def test_refused_on_an_agent_with_dcos_own_calico(make_host):
    host = make_host()
    (host.root / "opt/mesosphere/active/calico/cni").mkdir(parents=True)
    done = cni_step(host, inputs(host))
    assert done.returncode == 83
    assert "installing Calico v2.6 over it would break its networking" in last_line(done.stderr)
    assert not host.file(PLUGINS + "/calico").exists()
    assert host.restarts("dcos-mesos-slave") == 0


def live_cni(host, args, *extra):
    """As the scheduler first launches the step: no restart allowed."""
    return host.run("cni", *args, *FAST_TIMING, *extra)


@pytest.mark.parametrize("version", ["1.4.3", "1.8.1"])
def test_an_agent_that_reads_configs_at_launch_is_not_restarted(make_host, version):
    host = make_host()
    args = inputs(host)
    done = live_cni(host, args, "--mesos-version", version)
    assert done.returncode == 0, done.stderr
    assert last_line(done.stderr).endswith("the agent reads CNI configs at each launch, "
                                           "no restart")
    assert [c["action"] for c in host.result("cni")["changes"]] == ["wrote"] * 3
    assert json.loads(host.file(CONFIGS + "/calico.conf").read_text()) == NETWORK
    assert host.restarts("dcos-mesos-slave") == 0
    again = live_cni(host, args, "--mesos-version", version)
    assert again.returncode == 0 and "already in place" in last_line(again.stderr)


@pytest.mark.parametrize("extra, setup, reason", [
    (["--mesos-version", "1.1.0"], None,
     "Mesos 1.1.0 reads CNI configs only when the agent starts"),
    ([], None, "cannot tell this agent's Mesos version"),
    (["--mesos-version", "1.8.1"], "MESOS_NETWORK_CNI_CONFIG_DIR=/etc/cni/net.d\n",
     "the agent reads CNI configs from '/etc/cni/net.d', not " + CONFIGS),
])
def test_an_agent_that_needs_a_restart_changes_nothing_without_one(make_host, extra, setup,
                                                                   reason):
    host = make_host()
    if setup is not None:
        host.file("/opt/mesosphere/etc/mesos-slave-common").write_text(setup)
    args = inputs(host)
    before = host.snapshot()
    done = live_cni(host, args, *extra)
    assert done.returncode == 76
    assert last_line(done.stderr).startswith("needs a restart of dcos-mesos-slave: " + reason)
    assert host.result("cni")["status"] == "needs-restart"
    assert host.snapshot() == before and host.restarts("dcos-mesos-slave") == 0
    assert converge(host, args) == [75, 0]  # with restarts allowed: the restart path
    assert host.restarts("dcos-mesos-slave") == 1


def test_the_agent_version_is_read_from_its_version_endpoint(make_host):
    import http.server

    class Agent(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib naming
            body = json.dumps({"version": "1.4.3"}).encode()
            self.send_response(200 if self.path == "/version" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Agent)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        host = make_host()
        host.env["MESOS_AGENT_ENDPOINT"] = f"127.0.0.1:{server.server_port}"
        done = live_cni(host, inputs(host))
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert host.restarts("dcos-mesos-slave") == 0
