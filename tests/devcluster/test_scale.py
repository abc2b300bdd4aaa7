"""1,000 simulated agents with real host directories in one master emulator."""

from __future__ import annotations

import shutil

import pytest

from devcluster.cluster import ClusterOptions, LocalCluster
from tests.devcluster.harness import FAST, RecordingScheduler, command_task
from tests.devcluster.rawhttp import post
from tests.wait import wait_until

PRIVATE, PUBLIC = 900, 100
# Timings at this scale are the benchmarks' business (`python -m tests.bench.allocation`
# reports the allocation cycle's CPU cost against its budget); these tests check behaviour.


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    options = ClusterOptions(agents=PRIVATE, public_agents=PUBLIC, master=FAST)
    work_dir = tmp_path_factory.mktemp("big")
    cluster = LocalCluster(work_dir, options).start()
    yield cluster
    cluster.stop()
    shutil.rmtree(work_dir, ignore_errors=True)  # 1,000 host trees: do not keep them


def test_driver_gets_offers_from_every_agent_and_runs_a_task(big):
    from pymesos import MesosSchedulerDriver

    sched = RecordingScheduler()
    host, port = big.master.address
    info = {"user": "root", "name": "scale", "roles": ["*", "slave_public"],
            "capabilities": [{"type": "MULTI_ROLE"}]}
    driver = MesosSchedulerDriver(sched, info, f"{host}:{port}")
    driver.start()
    try:
        sched.registered_id()

        def offered_agents() -> set[str]:
            with sched.lock:
                return {o["agent_id"]["value"] for o in sched.offers}
        wait_until(lambda: len(offered_agents()) == PRIVATE + PUBLIC, deadline_s=120.0,
                   what="1,000 offers")
        last = list(big.master.agents)[-1]
        offer = sched.take_offer(last)
        assert offer["allocation_info"] == {"role": "slave_public"}
        driver.launchTasks(offer["id"], [command_task(offer, "t-last", "echo $HOST")])
        sched.wait_state("t-last", "TASK_FINISHED")
    finally:
        driver.stop(failover=True)
        driver.join()


def test_state_endpoints_at_scale(big):
    answer = post(big.master.address, b"", {}, path="/master/slaves", method="GET")
    assert answer.status == 200 and answer.body.count(b'"hostname"') == PRIVATE + PUBLIC

