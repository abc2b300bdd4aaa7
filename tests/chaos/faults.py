"""Injecting one planned fault into a running dev stack, and healing it again.

`inject` acts at once and returns what must be undone later (or None for faults that are
over as soon as they happen, or never heal). Faults that last are held for `HOLD_S`: long
enough for the scheduler to notice, short enough to keep a run quick.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from devcluster.host.faults import set_fault
from devcluster.stack import DevStack
from tests.chaos import scenario
from tests.chaos.schedulers import Schedulers
from tests.e2e.conftest import docker_will_run_another_store

HOLD_S = 3.0
UPDATE_DELAY_S = 1.0


class InjectError(RuntimeError):
    """A fault could not be injected (its target is gone, no scheduler leads...)."""


@dataclass
class Cluster:
    """What a fault acts on: the stack, its scheduler processes and the agents in the order
    the cluster added them (a plan's targets and its `another_store` hosts index this list).
    `added_in`: the phase in which a fault added an agent (its first install)."""

    stack: DevStack
    schedulers: Schedulers
    agent_ids: list[str]
    another_store: frozenset[int] = frozenset()
    removed_at: dict[str, float] = field(default_factory=dict)
    permanently_faulted: set[str] = field(default_factory=set)
    added_in: dict[str, str] = field(default_factory=dict)

    def target(self, index: int | None) -> str:
        if index is None:
            raise InjectError("this fault needs a target agent")
        agent_id = self.agent_ids[index]
        if agent_id in self.removed_at:
            raise InjectError(f"target agent {agent_id} was removed earlier")
        return agent_id

    def framework_id(self) -> str:
        master = self.stack.cluster.master
        with master.lock:
            connected = [fid for fid, fw in master.frameworks.items() if fw.connected]
        if not connected:
            raise InjectError("no framework is subscribed")
        return connected[-1]

    def restart_leader(self, sig: int) -> None:
        found = self.schedulers.leader()
        if found is None:
            raise InjectError("no scheduler leads")
        found[0].stop(sig)
        self.schedulers.start()


Heal = Callable[[], None]


def inject(cluster: Cluster, fault: scenario.Fault, now: float) -> Heal | None:
    """Inject `fault`; return how to heal it after HOLD_S, or None."""
    master = cluster.stack.cluster.master
    kind = fault.kind
    if kind in (scenario.SCHEDULER_KILL, scenario.SCHEDULER_KILL_AT_LAUNCH):
        cluster.restart_leader(signal.SIGKILL)
        return None
    if kind == scenario.SECOND_SCHEDULER:
        found = cluster.schedulers.leader()
        if found is None:
            raise InjectError("no scheduler leads")
        cluster.schedulers.start()
        # The first steps down (as Marathon stops the old instance); the second takes over.
        return lambda: found[0].stop(signal.SIGTERM)
    if kind == scenario.ETCD_RESTART:
        cluster.stack.etcd.stop()
        return cluster.stack.etcd.start
    if kind == scenario.STREAM_DROP:
        master.drop_stream(cluster.framework_id())
        return None
    if kind == scenario.MASTER_FAILOVER:
        master.fail_over()
        return None
    if kind == scenario.AGENT_ADDED:
        if len(cluster.agent_ids) in cluster.another_store:
            docker_will_run_another_store(cluster.stack.work_dir, len(cluster.agent_ids))
        agent_id = cluster.stack.cluster.add_agent().id
        cluster.agent_ids.append(agent_id)
        cluster.added_in[agent_id] = fault.moment.phase
        return None
    if kind == scenario.UPDATES_DELAYED:
        master.faults.update_delay_s = UPDATE_DELAY_S
        return lambda: setattr(master.faults, "update_delay_s", 0.0)
    if kind == scenario.UPDATES_DUPLICATED:
        master.faults.duplicate_updates = True
        return lambda: setattr(master.faults, "duplicate_updates", False)
    agent_id = cluster.target(fault.target)
    if kind == scenario.AGENT_LOST:
        master.lose_agent(agent_id)
        return lambda: master.restore_agent(agent_id)
    if kind == scenario.AGENT_REMOVED:
        master.remove_agent(agent_id)
        cluster.removed_at[agent_id] = now
        return None
    if kind == scenario.DOCKER_DEAD:
        set_fault(master.agents[agent_id].spec.root, "docker_never_starts", True)
        cluster.permanently_faulted.add(agent_id)
        return None
    if kind == scenario.FETCH_FAILURE:
        master.faults.fetch_failures[agent_id] += 1
        return None
    raise InjectError(f"unknown fault kind {kind!r}")
