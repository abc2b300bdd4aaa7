"""`verify`: from inside a task on the Calico network, reach the agent's calico/node, and
create and remove a Calico Docker network where the docker step runs. It changes nothing."""

import socket
import threading

import pytest

from tests.installer.conftest import last_line


@pytest.fixture
def listener():
    """A TCP port that accepts, standing in for BIRD's BGP port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def test_reaching_the_peer_reports_the_address_used_and_changes_nothing(make_host, listener):
    host = make_host()
    before = host.snapshot()
    done = host.run("verify", "--peer", listener)
    assert done.returncode == 0, done.stderr
    result = host.result("verify")
    assert result["details"]["address"] == "127.0.0.1"
    assert result["message"] == f"reached calico/node at {listener} from 127.0.0.1"
    assert host.snapshot() == before


def test_an_unreachable_peer_fails_with_exit_84_and_the_reason(make_host):
    host = make_host()
    peer = _closed_port()
    done = host.run("verify", "--peer", peer, "--timeout", "1")
    assert done.returncode == 84
    assert last_line(done.stderr).endswith(
        f"cannot reach calico/node at {peer} from this task within 1 s: [Errno 111] "
        "Connection refused")


def test_a_malformed_peer_is_bad_input(make_host):
    done = make_host().run("verify", "--peer", "10.0.0.1:notaport")
    assert done.returncode == 1
    assert "malformed port" in last_line(done.stderr)
