import os
import subprocess

from devcluster.host.cli import main


def test_prints_shell_exports_that_select_the_stand_ins(tmp_path, capsys):
    root = tmp_path / "agent one"
    events = tmp_path / "events.jsonl"
    assert main(["--root", str(root), "--docker-version", "19.03.15", "--public",
                 "--hostname", "pub1", "--ip", "127.0.1.7", "--events", str(events),
                 "--docker-restart-s", "0"]) == 0
    exports = capsys.readouterr().out
    assert all(line.startswith("export ") for line in exports.splitlines())
    script = exports + ("systemctl restart docker && docker version -f '{{.Server.Version}}' "
                        "&& detect_ip && printf '%s\\n' \"$CALICO_HOST_ROOT\" && "
                        "systemctl is-active dcos-mesos-slave-public")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["19.03.15", "127.0.1.7", str(root), "active"]
    assert events.read_text().count('"hostname":"pub1"') == 2


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "h"), "--ip", "300.1.1.1"]) == 2
    assert "ip '300.1.1.1' is not an IP address" in capsys.readouterr().err
    assert main(["--root", str(tmp_path / "h"), "--daemon-json", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
    assert main([]) == 2
    assert not (tmp_path / "h").exists()


def test_initial_daemon_json_and_docker_flags(tmp_path, capsys):
    initial = tmp_path / "daemon.json"
    initial.write_text('{"debug": true}')
    root = tmp_path / "h"
    assert main(["--root", str(root), "--daemon-json", str(initial),
                 "--docker-flag=--cluster-store=etcd://x:2379"]) == 0
    assert (root / "etc/docker/daemon.json").read_text() == '{"debug": true}'
    assert "--cluster-store=etcd://x:2379" in \
        (root / "usr/lib/systemd/system/docker.service").read_text()
