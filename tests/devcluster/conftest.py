import pytest

from tests.devcluster.harness import MasterHarness, RecordingScheduler


@pytest.fixture
def harness(tmp_path):
    h = MasterHarness(tmp_path)
    yield h
    h.close()


@pytest.fixture
def sched():
    return RecordingScheduler()
