"""Unit files read as systemd reads them: drop-ins, environment files, ExecStart resets."""

from devcluster.host import unitfile
from devcluster.host.hostdir import HostDir

DROP_IN_DIR = "etc/systemd/system/docker.service.d"


def write(host, relative, text):
    path = host.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def show(host, props):
    result = host.run("systemctl", "show", "-p", props, "docker")
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_drop_in_exec_start_with_environment_file_reaches_dockerd(host):
    write(host, f"{DROP_IN_DIR}/20-options.conf",
          "[Service]\nEnvironmentFile=-/etc/sysconfig/docker\nExecStart=\n"
          "ExecStart=/usr/bin/dockerd $OPTIONS --label=${LABEL}\n")
    write(host, "etc/sysconfig/docker",
          "OPTIONS='--cluster-store=etcd://10.0.0.9:2379 --debug'\nLABEL=a b\n")
    hostdir = HostDir(host.root)
    assert unitfile.exec_start(hostdir, "docker") == [
        "/usr/bin/dockerd", "--cluster-store=etcd://10.0.0.9:2379", "--debug", "--label=a b"]
    assert unitfile.exec_start(hostdir, "docker", expand=False) == [
        "/usr/bin/dockerd", "$OPTIONS", "--label=${LABEL}"]
    props = show(host, "ExecStart,DropInPaths,FragmentPath")
    assert "argv[]=/usr/bin/dockerd $OPTIONS --label=${LABEL}" in props["ExecStart"]
    assert props["DropInPaths"] == "/etc/systemd/system/docker.service.d/20-options.conf"
    assert props["FragmentPath"] == "/usr/lib/systemd/system/docker.service"
    host.daemon_json.write_text('{"cluster-store": "etcd://127.0.0.1:2379"}')
    assert host.run("systemctl", "restart", "docker").returncode == 1
    assert "(from flag: etcd://10.0.0.9:2379, from file: etcd://127.0.0.1:2379)" in \
        host.run("systemctl", "status", "docker").stdout


def test_later_drop_ins_win_and_etc_overrides_the_vendor_fragment(host):
    write(host, f"{DROP_IN_DIR}/10-a.conf", "[Service]\nExecStart=\nExecStart=/bin/a\n")
    write(host, f"{DROP_IN_DIR}/30-c.conf", "[Service]\nExecStart=\nExecStart=/bin/c\n")
    assert unitfile.exec_start(HostDir(host.root), "docker") == ["/bin/c"]
    write(host, "etc/systemd/system/docker.service", "[Service]\nExecStart=/bin/etc\n")
    assert unitfile.fragment(HostDir(host.root), "docker") == "/etc/systemd/system/docker.service"
    cat = host.run("systemctl", "cat", "docker").stdout
    assert cat.index("# /etc/systemd/system/docker.service") < \
        cat.index("# /etc/systemd/system/docker.service.d/10-a.conf") < \
        cat.index("# /etc/systemd/system/docker.service.d/30-c.conf")


def test_a_missing_required_environment_file_fails_the_start(host):
    write(host, f"{DROP_IN_DIR}/env.conf", "[Service]\nEnvironmentFile=/etc/sysconfig/none\n")
    assert host.run("systemctl", "restart", "docker").returncode == 1
    assert "/etc/sysconfig/none" in host.run("systemctl", "status", "docker").stdout


def test_invocation_id_changes_with_every_activation_and_is_empty_when_inactive(host):
    first = show(host, "InvocationID")["InvocationID"]
    assert len(first) == 32
    assert host.run("systemctl", "restart", "docker").returncode == 0
    second = show(host, "InvocationID")["InvocationID"]
    assert second not in ("", first)
    host.run("systemctl", "stop", "docker")
    assert show(host, "InvocationID") == {"InvocationID": ""}
