import pytest

from tests.devcluster.harness import MasterHarness, RecordingScheduler, fast


@pytest.fixture
def harness(tmp_path):
    h = MasterHarness(tmp_path)
    yield h
    h.close()


@pytest.fixture
def make_harness(tmp_path):
    """A harness for one emulated Mesos version: `make_harness("1.4", **option_changes)`."""
    made = []

    def make(version: str, **changes) -> MasterHarness:
        h = MasterHarness(tmp_path / f"h{len(made)}", fast(version, **changes))
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.fixture
def sched():
    return RecordingScheduler()
