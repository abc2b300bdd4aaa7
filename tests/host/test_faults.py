import pytest

from devcluster.host.errors import FaultError, HostSpecError
from devcluster.host.faults import FAULTS, clear_fault, get_faults, set_fault


def test_faults_are_set_read_and_cleared(host):
    assert get_faults(host.root) == {}
    set_fault(host.root, "docker_never_starts")
    set_fault(host.root, "hang_units", ["docker", host.agent_unit])
    set_fault(host.root, "container_exit", {"calico-node": 2})
    assert get_faults(host.root) == {"docker_never_starts": True,
                                     "hang_units": ["docker", host.agent_unit],
                                     "container_exit": {"calico-node": 2}}
    clear_fault(host.root, "hang_units")
    set_fault(host.root, "docker_never_starts", False)
    assert get_faults(host.root) == {"container_exit": {"calico-node": 2}}


@pytest.mark.parametrize("name, value, message", [
    ("docker_explodes", True, "unknown fault 'docker_explodes'"),
    ("docker_never_starts", "yes", "takes true"),
    ("docker_crashes_after_s", -1, "takes seconds"),
    ("hang_units", "docker", "takes unit names"),
    ("container_exit", {"calico-node": 300}, "takes {name: code}"),
])
def test_bad_faults_are_refused_with_what_they_take(host, name, value, message):
    with pytest.raises(FaultError, match=message):
        set_fault(host.root, name, value)
    assert get_faults(host.root) == {}


def test_every_fault_documents_itself():
    assert all(meaning for _, meaning in FAULTS.values())


def test_faults_on_a_directory_that_is_not_a_host(tmp_path):
    with pytest.raises(HostSpecError, match="not a prepared host"):
        set_fault(tmp_path, "docker_never_starts")
    with pytest.raises(FaultError):
        clear_fault(tmp_path, "nonsense")
