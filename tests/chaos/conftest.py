import dataclasses

import pytest

from devcluster.cluster import ClusterOptions
from devcluster.stack import DevStack, StackOptions
from tests.chaos.runner import FAST_MASTER, FRAMEWORK_NAME
from tests.chaos.schedulers import Schedulers


@pytest.fixture
def chaos_stack(tmp_path):
    """etcd, the master emulator and hosts, with scheduler processes left to the test."""
    started = []

    def make(agents: int = 2, k: int = 1, env: dict | None = None,
             mesos_version: str = "1.8") -> tuple[DevStack, Schedulers]:
        master = dataclasses.replace(FAST_MASTER, version=mesos_version)
        options = StackOptions(
            cluster=ClusterOptions(agents=agents, events_file=tmp_path / "events.jsonl",
                                   master=master),
            framework_name=FRAMEWORK_NAME, max_concurrent_restarts=k,
            scheduler_env=tuple((env or {}).items()))
        stack = DevStack(tmp_path, options)
        schedulers = Schedulers(stack, tmp_path)
        started.append((stack, schedulers))
        stack.etcd.start()
        stack.cluster.start()
        stack.artifacts.start()
        return stack, schedulers

    yield make
    for stack, schedulers in started:
        schedulers.stop_all()
        stack.stop()
