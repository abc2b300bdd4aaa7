"""`docker` on simulated hosts: fresh, already done, changed, skipped, failing, killed."""

import fcntl
import json
import os
import subprocess
import threading

import pytest

from tests.installer.conftest import FAST_TIMING, RESTART_OK, last_line

STORE = "etcd://127.0.0.1:2379"
# A store Docker already runs with, so changing it needs a restart (nothing listens there).
OLD = "etcd://127.0.0.1:4001"
ADVERTISE = "10.0.0.1:2375"  # the simulated host's detect_ip, and the default port
DAEMON_JSON = "/etc/docker/daemon.json"


def docker_step(host, store=STORE, *extra, **kwargs):
    return host.run("docker", "--cluster-store", store, *RESTART_OK,
                    *extra, **kwargs)


def live_step(host, store=STORE, *extra):
    """As the scheduler first launches the step: no restart allowed."""
    return host.run("docker", "--cluster-store", store, *FAST_TIMING, *extra)


def old_store(**settings):
    return json.dumps({**settings, "cluster-store": OLD}) + "\n"


def daemon_json(host):
    return json.loads(host.file(DAEMON_JSON).read_text())


@pytest.mark.parametrize("version", ["1.13.1", "17.06.2-ce", "17.12.1-ce", "18.09.9"])
def test_fresh_host_takes_the_cluster_store_by_reload_without_a_restart(make_host, version):
    host = make_host(docker_version=version)
    assert host.docker("run", "-d", "--name", "workload", "img").returncode == 0
    done = live_step(host)
    assert done.returncode == 0, done.stderr
    assert "by a reload of docker; no restart" in last_line(done.stderr)
    assert daemon_json(host) == {"cluster-store": STORE, "cluster-advertise": ADVERTISE}
    assert host.restarts("docker") == 0
    assert host.docker("inspect", "-f", "{{.State.Status}}", "workload").stdout == "running\n"
    assert "Cluster Store: " + STORE in host.docker("info").stdout
    result = host.result("docker")
    assert result["status"] == "ok" and result["changed"] is True and result["exit_code"] == 0
    wrote, reloaded = result["changes"]
    assert wrote == {"action": "wrote", "target": DAEMON_JSON, "seconds": None}
    assert (reloaded["action"], reloaded["target"]) == ("reloaded", "docker")
    again = live_step(host)
    assert again.returncode == 0 and "already set" in last_line(again.stderr)
    assert host.result("docker")["changed"] is False
    assert host.result("docker")["changes"] == []


def test_a_changed_store_needs_a_restart_slot_and_changes_nothing_without_one(make_host):
    host = make_host(daemon_json=old_store(debug=True))
    before = host.snapshot()
    done = live_step(host)
    assert done.returncode == 76
    assert last_line(done.stderr) == (
        f"needs a restart of docker: Docker runs with cluster-store {OLD}; libnetwork does "
        "not change an existing store on reload")
    result = host.result("docker")
    assert result["status"] == "needs-restart" and result["exit_code"] == 76
    assert result["details"]["restart_reason"].startswith("Docker runs with cluster-store")
    assert host.snapshot() == before and host.restarts("docker") == 0
    allowed = docker_step(host)
    assert allowed.returncode == 0, allowed.stderr
    assert "Docker restarted and stable (Docker runs with cluster-store" in \
        last_line(allowed.stderr)
    assert host.restarts("docker") == 1
    assert daemon_json(host) == {"debug": True, "cluster-store": STORE,
                                 "cluster-advertise": ADVERTISE}


def test_changed_store_keeps_other_keys(make_host):
    original = '{\n  "log-driver": "journald",\n  "debug": true\n}\n'
    host = make_host(daemon_json=original)
    assert docker_step(host).returncode == 0
    assert docker_step(host, "etcd://10.0.0.9:2379").returncode == 0
    assert daemon_json(host) == {"log-driver": "journald", "debug": True,
                                 "cluster-store": "etcd://10.0.0.9:2379",
                                 "cluster-advertise": ADVERTISE}
    assert host.restarts("docker") == 1


def _no_exec_reload(host):
    drop_in = host.file("/etc/systemd/system/docker.service.d/no-reload.conf")
    drop_in.parent.mkdir(parents=True)
    drop_in.write_text("[Service]\nExecReload=\n")


def test_a_reload_that_does_not_take_falls_back_to_a_restart(make_host):
    original = '{"debug": true}\n'
    host = make_host(daemon_json=original)
    _no_exec_reload(host)
    done = live_step(host)
    assert done.returncode == 76
    assert last_line(done.stderr) == ("needs a restart of docker: the reload did not take "
                                      "effect (systemctl reload docker failed)")
    assert host.restarts("docker") == 0
    assert host.file(DAEMON_JSON).read_text() == original  # put back: nothing changed
    allowed = docker_step(host, STORE, "--restart-timeout", "1")
    assert allowed.returncode == 0, allowed.stderr
    assert host.restarts("docker") == 1
    assert "Cluster Store: " + STORE in host.docker("info").stdout
    # the rollback copy was the file from before the reload's write
    host.set_fault("docker_never_starts")
    assert docker_step(host, "etcd://127.0.0.1:4002", "--restart-timeout", "0.5").returncode \
        == 1
    host.set_fault("docker_never_starts", False)


def test_a_failed_reload_with_restarts_allowed_restarts_in_the_same_run(make_host):
    host = make_host(daemon_json='{"debug": true}\n')
    _no_exec_reload(host)
    done = docker_step(host)
    assert done.returncode == 0, done.stderr
    assert host.restarts("docker") == 1
    assert [c["action"] for c in host.result("docker")["changes"]] == ["wrote", "restarted"]


def test_live_restore_is_enabled_by_reload_before_a_restart(make_host):
    host = make_host(daemon_json=old_store())
    assert host.docker("run", "-d", "--name", "workload", "img").returncode == 0
    done = docker_step(host, STORE, "--live-restore")
    assert done.returncode == 0, done.stderr
    assert host.restarts("docker") == 1
    assert daemon_json(host)["live-restore"] is True
    assert host.docker("inspect", "-f", "{{.State.Status}}", "workload").stdout == "running\n"
    assert [c["action"] for c in host.result("docker")["changes"]] == [
        "wrote", "reloaded", "restarted"]


def test_without_live_restore_a_restart_stops_containers(make_host):
    host = make_host(daemon_json=old_store())
    assert host.docker("run", "-d", "--name", "workload", "img").returncode == 0
    assert docker_step(host).returncode == 0
    assert host.docker("inspect", "-f", "{{.State.Status}}", "workload").stdout == "exited\n"


def test_store_opts_are_written(make_host):
    host = make_host()
    done = docker_step(host, STORE, "--cluster-store-opt", "kv.cacertfile=/etc/ca.pem")
    assert done.returncode == 0, done.stderr
    assert daemon_json(host)["cluster-store-opts"] == {"kv.cacertfile": "/etc/ca.pem"}


@pytest.mark.parametrize("version", ["23.0.1", "24.0.7", "1.9.1"])
def test_unsupported_docker_is_skipped(make_host, version):
    host = make_host(docker_version=version)
    done = docker_step(host)
    assert done.returncode == 0
    assert last_line(done.stderr).endswith(
        f"skipped: Docker {version} does not support cluster-store "
        "(only 1.10 <= version < 23.0)")
    assert host.result("docker")["status"] == "skipped"
    assert not host.file(DAEMON_JSON).exists()
    assert host.restarts("docker") == 0


def test_conflicting_unit_flag_fails_without_changes(make_host):
    host = make_host(docker_flags=("--cluster-store=etcd://other:2379",))
    before = host.snapshot()
    done = docker_step(host)
    assert done.returncode == 1
    assert "sets --cluster-store=etcd://other:2379 on its command line" in last_line(done.stderr)
    assert host.snapshot() == before and host.restarts("docker") == 0


def test_matching_unit_flag_is_already_done(make_host):
    host = make_host(docker_flags=("--cluster-store", STORE))
    done = docker_step(host)
    assert done.returncode == 0 and "command line" in last_line(done.stderr)
    assert not host.file(DAEMON_JSON).exists() and host.restarts("docker") == 0


def test_malformed_daemon_json_changes_nothing(make_host):
    host = make_host(daemon_json='{"debug": true}')
    host.file(DAEMON_JSON).write_text('{"debug": true,,}')  # broken while Docker runs
    before = host.snapshot()
    done = docker_step(host)
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("malformed /etc/docker/daemon.json:")
    assert host.snapshot() == before


def test_file_right_but_docker_without_it_takes_it_by_reload(make_host):
    host = make_host()
    host.file(DAEMON_JSON).write_text(json.dumps({"cluster-store": STORE,
                                                 "cluster-advertise": ADVERTISE}))
    done = live_step(host)
    assert done.returncode == 0, done.stderr
    assert host.restarts("docker") == 0
    assert "Cluster Store: " + STORE in host.docker("info").stdout


def test_docker_down_fails_with_reason(make_host):
    host = make_host()
    assert host.run("uninstall").returncode == 0  # nothing installed: a no-op
    subprocess.run(["systemctl", "stop", "docker"], env=host.env, check=True)
    done = docker_step(host)
    assert done.returncode == 1
    assert "docker version" in last_line(done.stderr)
    assert not host.file(DAEMON_JSON).exists()


def _clear_fault_after_failed_restart(host):
    host.wait_for_event(lambda e: e["unit"] == "docker" and e["phase"] == "end"
                        and not e["ok"])
    host.set_fault("docker_never_starts", False)


def test_docker_not_coming_back_restores_exact_bytes(make_host):
    original = b'{ "log-driver" : "journald", "cluster-store": "etcd://127.0.0.1:4001" }  \n'
    host = make_host(daemon_json=original.decode())
    host.set_fault("docker_never_starts")
    watcher = threading.Thread(target=_clear_fault_after_failed_restart, args=(host,))
    watcher.start()
    done = docker_step(host, STORE, "--restart-timeout", "2")
    watcher.join()
    assert done.returncode == 1
    reason = last_line(done.stderr)
    assert reason.startswith("docker did not become active within 2s (state: failed)")
    assert reason.endswith("previous daemon.json restored and docker is active")
    assert host.file(DAEMON_JSON).read_bytes() == original
    assert host.unit_state("docker") == "active"
    assert host.restarts("docker") == 2
    assert host.result("docker")["status"] == "failed"
    assert not list((host.root / "var/lib/calico-dcos/backup/docker").glob("*.rollback"))


def test_docker_never_coming_back_still_restores_bytes(make_host):
    host = make_host(daemon_json=old_store())
    host.set_fault("docker_never_starts")
    done = docker_step(host, STORE, "--restart-timeout", "0.5")
    assert done.returncode == 1
    assert "after restoring the previous daemon.json" in last_line(done.stderr)
    assert host.file(DAEMON_JSON).read_text() == old_store()


def test_docker_crashing_after_start_is_rolled_back(make_host):
    host = make_host(daemon_json=old_store(debug=False))
    # Docker stays up long enough to be seen active, then dies inside the stability window.
    host.set_fault("docker_crashes_after_s", 0.5)
    done = docker_step(host, STORE, "--stable-for", "3")
    assert done.returncode == 1
    assert "docker left the active state" in last_line(done.stderr)
    assert host.file(DAEMON_JSON).read_text() == old_store(debug=False)
    result = host.result("docker")
    assert result["message"] == last_line(done.stderr)
    assert [(c["action"], c["target"]) for c in result["changes"]] == [
        ("wrote", DAEMON_JSON), ("restarted", "docker"), ("restored", DAEMON_JSON),
        ("restarted", "docker")]


CRASH_POINTS = ["docker:backed-up", "docker:written", "docker:restarting", "restarted:docker",
                "docker:done"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_at_every_journal_point_converges_with_one_restart(make_host, point):
    host = make_host(daemon_json=old_store(debug=True))
    killed = docker_step(host, crash_at=point)
    assert killed.returncode == -9
    done = docker_step(host)
    assert done.returncode == 0, done.stderr
    assert daemon_json(host) == {"debug": True, "cluster-store": STORE,
                                 "cluster-advertise": ADVERTISE}
    assert host.restarts("docker") == 1
    assert "Cluster Store: " + STORE in host.docker("info").stdout
    assert docker_step(host).returncode == 0 and host.restarts("docker") == 1


@pytest.mark.parametrize("point", ["restarted:docker", "docker:rolling-back"])
def test_kill_around_a_failed_restart_still_restores(make_host, point):
    host = make_host(daemon_json=old_store(debug=True))
    host.set_fault("docker_crashes_after_s", 0.1)
    first = docker_step(host, STORE, "--restart-timeout", "1", crash_at=point)
    assert first.returncode == -9
    host.set_fault("docker_crashes_after_s", False)
    rerun = docker_step(host, STORE, "--restart-timeout", "1")
    assert rerun.returncode == 1
    assert last_line(rerun.stderr).endswith("previous daemon.json restored and docker is active")
    assert host.file(DAEMON_JSON).read_text() == old_store(debug=True)
    assert host.restarts("docker") == 2
    assert host.unit_state("docker") == "active"


def test_conflicting_flag_in_a_drop_in_is_found(make_host):
    host = make_host()
    drop_in = host.file("/etc/systemd/system/docker.service.d/override.conf")
    drop_in.parent.mkdir(parents=True)
    drop_in.write_text("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --cluster-store "
                       "consul://c:8500\n")
    done = docker_step(host)
    assert done.returncode == 1
    assert "--cluster-store=consul://c:8500" in last_line(done.stderr)
    assert not host.file(DAEMON_JSON).exists()



def test_docker_missing_from_path(make_host):
    host = make_host()
    host.env["PATH"] = "/nonexistent"
    done = docker_step(host)
    assert done.returncode == 1
    assert last_line(done.stderr) == "'docker' not found on PATH"
    assert not host.file(DAEMON_JSON).exists()


def test_a_second_changing_step_waits_for_the_host_lock(make_host):
    host = make_host()
    held = os.open(host.root / "var/lib", os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = docker_step(host, STORE, "--restart-timeout", "0.3")
    finally:
        os.close(held)
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("another calico-installer step is changing this")
    assert not host.file(DAEMON_JSON).exists()
    assert docker_step(host).returncode == 0


def test_a_symlinked_daemon_json_is_edited_where_it_lives(make_host):
    """Hosts that keep daemon.json elsewhere (config management) link it into /etc/docker:
    the step writes through the link and the uninstall restores the target's bytes."""
    original = '{"log-driver": "journald"}\n'
    host = make_host()
    target = host.file("/srv/docker/daemon.json")
    target.parent.mkdir(parents=True)
    target.write_text(original)
    link = host.file(DAEMON_JSON)
    link.unlink(missing_ok=True)
    link.symlink_to("../../srv/docker/daemon.json")
    done = docker_step(host)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == "../../srv/docker/daemon.json"
    assert json.loads(target.read_text()) == {"log-driver": "journald", "cluster-store": STORE,
                                              "cluster-advertise": ADVERTISE}
    assert "Cluster Store: " + STORE in host.docker("info").stdout
    undone = host.run("uninstall", *FAST_TIMING)
    assert undone.returncode in (0, 75), undone.stderr
    assert link.is_symlink() and target.read_text() == original
