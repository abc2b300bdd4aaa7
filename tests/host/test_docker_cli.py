import json

import pytest

from devcluster.host.faults import clear_fault, set_fault

NO_DAEMON = "Cannot connect to the Docker daemon"


def test_version_in_every_form(make_host):
    host = make_host(docker_version="19.03.15")
    assert host.run("docker", "--version").stdout.startswith("Docker version 19.03.15,")
    formatted = host.run("docker", "version", "--format", "{{.Server.Version}}")
    assert (formatted.stdout, formatted.returncode) == ("19.03.15\n", 0)
    as_json = json.loads(host.run("docker", "version", "-f", "{{json .Client}}").stdout)
    assert as_json["Version"] == "19.03.15"
    plain = host.run("docker", "version")
    assert plain.returncode == 0 and "Server:" in plain.stdout


def test_every_daemon_command_fails_while_docker_is_down(host):
    assert host.run("docker", "run", "-d", "--name", "c1", "img").returncode == 0
    assert host.run("systemctl", "stop", "docker").returncode == 0
    for argv in (["info"], ["ps"], ["inspect", "c1"], ["stop", "c1"], ["rm", "-f", "c1"],
                 ["pull", "img"], ["version", "--format", "{{.Server.Version}}"], ["logs", "c1"]):
        result = host.run("docker", *argv)
        assert (result.returncode, NO_DAEMON in result.stderr) == (1, True), argv
    run = host.run("docker", "run", "--rm", "img")
    assert run.returncode == 125 and NO_DAEMON in run.stderr
    plain = host.run("docker", "version")
    assert plain.returncode == 1 and "Client:" in plain.stdout and "Server:" not in plain.stdout
    assert host.run("docker", "--version").returncode == 0


def test_info_reports_version_and_the_running_cluster_store(host):
    info = host.run("docker", "info")
    assert "Server Version: 20.10.24" in info.stdout and "Cluster Store" not in info.stdout
    host.daemon_json.write_text('{"cluster-store": "etcd://127.0.0.1:2379"}')
    assert host.run("docker", "info", "-f", "{{.ClusterStore}}").stdout == "\n"
    assert host.run("systemctl", "restart", "docker").returncode == 0
    assert "Cluster Store: etcd://127.0.0.1:2379" in host.run("docker", "info").stdout
    host.daemon_json.write_text("{}")
    still = host.run("docker", "info", "--format", "{{json .ClusterStore}}")
    assert still.stdout == '"etcd://127.0.0.1:2379"\n'


def test_info_on_23_has_no_cluster_store_field(make_host):
    host = make_host(docker_version="24.0.7")
    assert host.run("docker", "info", "-f", "{{.ClusterStore}}").stdout == "<no value>\n"


def test_detached_run_records_the_container_as_inspect_shows_it(host):
    run = host.run("docker", "run", "-d", "--name", "calico-node", "--restart=always",
                   "--net=host", "--privileged", "-e", "IP=127.0.1.1", "--env=NODENAME=n1",
                   "-v", "/var/run/calico:/var/run/calico", "example/app:v3.5.0",
                   "start", "--flag")
    assert run.returncode == 0 and len(run.stdout.strip()) == 64
    [record] = json.loads(host.run("docker", "inspect", "calico-node").stdout)
    assert record["Id"] == run.stdout.strip() and record["Name"] == "/calico-node"
    assert record["State"]["Running"] is True and record["State"]["Status"] == "running"
    assert record["Config"]["Image"] == "example/app:v3.5.0"
    assert record["Config"]["Env"] == ["IP=127.0.1.1", "NODENAME=n1"]
    assert (record["Path"], record["Args"]) == ("start", ["--flag"])
    assert record["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert record["HostConfig"]["NetworkMode"] == "host"
    assert record["HostConfig"]["Privileged"] is True
    assert record["HostConfig"]["Binds"] == ["/var/run/calico:/var/run/calico"]
    assert "_devcluster" not in record
    fmt = host.run("docker", "inspect", "--format", "{{.State.Running}} {{.Config.Image}}",
                   run.stdout.strip()[:12])
    assert fmt.stdout == "true example/app:v3.5.0\n"


def test_ps_lists_filters_and_formats(host):
    host.run("docker", "run", "-d", "--name", "calico-node", "example/app")
    host.run("docker", "run", "-d", "--name", "other", "busybox")
    host.run("docker", "stop", "other")
    assert host.run("docker", "ps", "--format", "{{.Names}}").stdout == "calico-node\n"
    listed = host.run("docker", "ps", "-a", "--format", "{{.Names}} {{.State}}").stdout
    assert sorted(listed.splitlines()) == ["calico-node running", "other exited"]
    by_name = host.run("docker", "ps", "-a", "--filter", "name=^calico-node$", "-q")
    assert len(by_name.stdout.split()) == 1 and len(by_name.stdout.strip()) == 12
    by_status = host.run("docker", "ps", "-a", "--filter=status=exited",
                         "--format", "{{.Names}}\\t{{.Status}}")
    assert by_status.stdout.startswith("other\tExited (0) ")
    table = host.run("docker", "ps").stdout.splitlines()
    assert table[0].startswith("CONTAINER ID") and "calico-node" in table[1]


def test_stop_kill_rm_and_their_errors(host):
    host.run("docker", "run", "-d", "--name", "c1", "img")
    rm_running = host.run("docker", "rm", "c1")
    assert rm_running.returncode == 1 and "cannot remove a running container" in rm_running.stderr
    assert host.run("docker", "stop", "c1").stdout == "c1\n"
    assert host.run("docker", "inspect", "-f", "{{.State.ExitCode}}", "c1").stdout == "0\n"
    assert host.run("docker", "rm", "c1").returncode == 0
    assert host.container_state("c1") == "missing"
    host.run("docker", "run", "-d", "--name", "c2", "img")
    assert host.run("docker", "kill", "c2").returncode == 0
    assert host.run("docker", "inspect", "-f", "{{.State.ExitCode}}", "c2").stdout == "137\n"
    host.run("docker", "run", "-d", "--name", "c3", "img")
    assert host.run("docker", "rm", "-f", "c3").returncode == 0
    missing = host.run("docker", "stop", "ghost")
    assert missing.returncode == 1 and "No such container: ghost" in missing.stderr
    inspect = host.run("docker", "inspect", "ghost")
    assert inspect.returncode == 1 and inspect.stdout == "[]\n"
    assert "No such object: ghost" in inspect.stderr


@pytest.mark.parametrize("version, code", [("20.10.24", 1), ("24.0.7", 0)])
def test_rm_force_of_a_missing_container_follows_the_cli_version(make_host, version, code):
    assert make_host(docker_version=version).run("docker", "rm", "-f", "ghost").returncode == code


@pytest.mark.parametrize("argv, message", [
    (["run"], '"run" requires at least 1 argument'),
    (["run", "--bogus", "img"], "unknown flag: --bogus"),
    (["run", "--restart", "sometimes", "img"], "invalid restart policy"),
    (["run", "--rm", "--restart=always", "img"], "Conflicting options: --restart and --rm"),
    (["run", "--name", "bad name!", "img"], "Invalid container name"),
    (["run", "--name"], "flag needs an argument"),
])
def test_bad_run_command_lines_exit_125_with_the_cli_message(host, argv, message):
    result = host.run("docker", *argv)
    assert result.returncode == 125 and message in result.stderr
    assert host.run("docker", "ps", "-aq").stdout == ""


def test_name_conflict(host):
    host.run("docker", "run", "-d", "--name=/c1", "img")
    assert host.run("docker", "inspect", "-f", "{{.Name}}", "c1").stdout == "/c1\n"
    again = host.run("docker", "run", "-d", "--name", "c1", "img")
    assert again.returncode == 125 and 'name "/c1" is already in use' in again.stderr


def test_unknown_command_and_unsupported_template(host):
    unknown = host.run("docker", "swarm", "init")
    assert unknown.returncode == 1 and "'swarm' is not a docker command" in unknown.stderr
    bad = host.run("docker", "info", "--format", "{{range .Labels}}x{{end}}")
    assert bad.returncode == 1 and "template" in bad.stderr


def test_images_that_cannot_be_pulled(host):
    set_fault(host.root, "missing_images", ["example/app:v9"])
    run = host.run("docker", "run", "-d", "example/app:v9")
    assert run.returncode == 125 and "pull access denied for example/app:v9" in run.stderr
    assert host.run("docker", "pull", "example/app:v9").returncode == 1
    assert host.run("docker", "pull", "example/app:v3").returncode == 0


def test_injected_container_exit_is_seen_once(host):
    host.run("docker", "run", "-d", "--name", "c1", "img")
    set_fault(host.root, "container_exit", {"c1": 3})
    assert host.run("docker", "inspect", "-f", "{{.State.ExitCode}}", "c1").stdout == "3\n"
    host.run("docker", "rm", "c1")
    host.run("docker", "run", "-d", "--name", "c1", "img")
    assert host.container_state("c1") == "running"


def test_wait_prints_the_exit_code_and_logs_needs_a_container(host):
    host.run("docker", "run", "-d", "--name", "c1", "img")
    set_fault(host.root, "container_exit", {"c1": 7})
    assert host.run("docker", "wait", "c1").stdout == "7\n"
    assert host.run("docker", "logs", "c1").returncode == 0
    assert host.run("docker", "logs", "ghost").returncode == 1


def test_a_hung_docker_cli_waits_until_the_fault_is_cleared(host):
    set_fault(host.root, "hang_docker_cli", True)
    proc = host.popen("docker", "run", "-d", "--name", "late", "img")
    try:
        assert host.run("systemctl", "is-active", "docker").returncode == 0
        assert proc.poll() is None
        clear_fault(host.root, "hang_docker_cli")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()
    assert host.container_state("late") == "running"


def test_concurrent_commands_on_one_host_lose_no_container(host):
    procs = [host.popen("docker", "run", "-d", "--name", f"c{n:02d}", "img") for n in range(12)]
    assert [proc.wait(timeout=60) for proc in procs] == [0] * 12
    names = host.run("docker", "ps", "--format", "{{.Names}}").stdout.split()
    assert sorted(names) == [f"c{n:02d}" for n in range(12)]
