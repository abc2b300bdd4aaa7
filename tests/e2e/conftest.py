import dataclasses
import json

import pytest

from devcluster.cluster import ClusterOptions
from devcluster.master import MasterOptions
from devcluster.platforms import on_platform
from devcluster.stack import DevStack, StackOptions

FAST_MASTER = MasterOptions(heartbeat_interval_s=2.0, allocation_interval_s=0.25,
                            status_retry_s=1.0)


@pytest.fixture
def make_stack(tmp_path):
    """Start a whole local stack (etcd, master, hosts, scheduler); stopped after the test.
    `platform` picks a DC/OS release (its Mesos and Docker; devcluster/platforms.py),
    `mesos_version` only the Mesos the master answers as, `master` other master options;
    `workloads` runs that many tasks and containers of another framework on every agent."""
    stacks = []

    def make(agents: int = 3, public_agents: int = 0, k: int = 1, env: dict | None = None,
             mesos_version: str = "1.8", master: dict | None = None, etcd_v2: bool = True,
             prepare=None, platform: str | None = None, workloads: int = 0,
             **cluster) -> DevStack:
        """`prepare(stack)` runs before anything starts (to change the mirror's files)."""
        work = tmp_path / f"stack{len(stacks)}"
        master_options = dataclasses.replace(FAST_MASTER, version=mesos_version,
                                             **(master or {}))
        cluster_options = ClusterOptions(agents=agents, public_agents=public_agents,
                                         events_file=work / "events.jsonl",
                                         master=master_options, **cluster)
        if platform is not None:
            cluster_options = on_platform(cluster_options, platform)
        options = StackOptions(
            cluster=cluster_options,
            workloads_per_agent=workloads,
            max_concurrent_restarts=k,
            scheduler_env=tuple((env or {}).items()),
            etcd_v2=etcd_v2,
        )
        stack = DevStack(work, options)
        stacks.append(stack)
        if prepare is not None:
            prepare(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.stop()


# A store the hosts' Docker runs with before the install (nothing listens there): the
# package's store is then a change, which Docker takes only by a restart.
OLD_STORE = "etcd://127.0.0.1:4001"


def docker_runs_another_store(stack) -> None:
    """A `prepare` hook: every host's Docker starts with OLD_STORE, so the docker step
    needs a restart (under a slot) on each; the CNI files still go in live."""
    for index in range(stack.options.cluster.agents + stack.options.cluster.public_agents):
        docker_will_run_another_store(stack.work_dir, index)


def docker_will_run_another_store(work_dir, index: int) -> None:
    """Host `index` (0-based, not yet added) will start its Docker with OLD_STORE."""
    path = work_dir / "hosts" / f"{index + 1:04d}" / "etc/docker/daemon.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cluster-store": OLD_STORE}) + "\n")
