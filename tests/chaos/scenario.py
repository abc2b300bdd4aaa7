"""What one seed does: which faults, on which agents, at which moments of which rollout.

A plan is pure data drawn from `random.Random(seed)`, so a seed names the same faults,
targets and moments, and the same hosts whose Docker already runs another cluster store,
on every machine. Moments are rollout progress ("once two agents are
complete", "at the first launch of a disruptive step"), never wall-clock times, so a seed
replays the same story however fast the machine is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.chaos.windows import PATH_LIVE, PATH_RESTART

PHASE_INSTALL = "install"
PHASE_CHANGE = "change"
PHASES = (PHASE_INSTALL, PHASE_CHANGE)

SCHEDULER_KILL = "scheduler_sigkill"
SCHEDULER_KILL_AT_LAUNCH = "scheduler_sigkill_at_launch"
SECOND_SCHEDULER = "second_scheduler"
ETCD_RESTART = "etcd_restart"
STREAM_DROP = "stream_drop"
MASTER_FAILOVER = "master_failover"
AGENT_LOST = "agent_lost"
AGENT_REMOVED = "agent_removed"
AGENT_ADDED = "agent_added"
DOCKER_DEAD = "docker_dead"
FETCH_FAILURE = "fetch_failure"
UPDATES_DELAYED = "updates_delayed"
UPDATES_DUPLICATED = "updates_duplicated"

FAULT_KINDS = (
    SCHEDULER_KILL, SCHEDULER_KILL_AT_LAUNCH, SECOND_SCHEDULER, ETCD_RESTART, STREAM_DROP,
    MASTER_FAILOVER, AGENT_LOST, AGENT_REMOVED, AGENT_ADDED, DOCKER_DEAD, FETCH_FAILURE,
    UPDATES_DELAYED, UPDATES_DUPLICATED,
)
# Faults aimed at one agent; the others act on the scheduler, etcd or the master.
TARGETED_KINDS = frozenset({AGENT_LOST, AGENT_REMOVED, DOCKER_DEAD, FETCH_FAILURE})
# Faults that never heal: the agent is expected to end failed (with a reason) or gone.
PERMANENT_KINDS = frozenset({AGENT_REMOVED, DOCKER_DEAD})
# Faults that shrink the cluster: at most one per seed, so a rollout always has work left.
SHRINKING_KINDS = frozenset({AGENT_REMOVED, DOCKER_DEAD})

MIN_FAULTS = 2
MAX_FAULTS = 4
MIN_AGENTS = 2
# Seeds alternate the emulated Mesos: even seeds 1.8 (DC/OS 1.13), odd ones 1.4 (DC/OS 1.10).
MESOS_VERSIONS = ("1.8", "1.4")


# The two ways a host takes the package's Docker cluster store (issue 18): PATH_LIVE, by a
# reload of a Docker that ran no store before, with no restart slot; or PATH_RESTART, a
# Docker restart under a slot, where Docker already runs another store (libnetwork refuses
# to change it by reload).
PATHS = (PATH_LIVE, PATH_RESTART)


class PlanError(ValueError):
    """A plan was asked for with arguments no rollout can satisfy."""


@dataclass(frozen=True)
class Moment:
    """When a fault fires: in `phase`, once `complete` agents are complete, or (with
    `at_launch`) right after the scheduler logs its `complete + 1`-th disruptive launch."""

    phase: str
    complete: int
    at_launch: bool = False

    def describe(self) -> str:
        if self.at_launch:
            return f"{self.phase}: at disruptive launch #{self.complete + 1}"
        return f"{self.phase}: once {self.complete} agent(s) are complete"


@dataclass(frozen=True)
class Fault:
    kind: str
    moment: Moment
    target: int | None = None  # index into the agents in the order the cluster added them

    def describe(self) -> str:
        where = "" if self.target is None else f" on agent #{self.target}"
        return f"{self.kind}{where} ({self.moment.describe()})"


@dataclass(frozen=True)
class ChaosPlan:
    seed: int
    agents: int
    max_concurrent_restarts: int
    faults: tuple[Fault, ...]
    mesos_version: str = MESOS_VERSIONS[0]
    # Hosts (by the order the cluster adds them, agents added by a fault included) whose
    # Docker runs another cluster store before the install: the restart path for them.
    another_store: tuple[int, ...] = ()

    def in_phase(self, phase: str) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if f.moment.phase == phase)

    def install_path(self, host: int) -> str:
        """How host number `host` takes the store in its first install."""
        return PATH_RESTART if host in self.another_store else PATH_LIVE

    def describe_hosts(self) -> str:
        hosts = ", ".join(f"#{i}" for i in self.another_store)
        return f"Docker runs another store on {hosts}" if hosts else "no Docker runs a store"


def make_plan(seed: int, agents: int, kinds: tuple[str, ...] = FAULT_KINDS,
              mesos_version: str | None = None) -> ChaosPlan:
    """Draw the plan of one seed: 2-4 faults spread over the install and change rollouts,
    on the seed's Mesos version unless one is given, and the hosts whose Docker runs
    another cluster store before the install (so the install takes both paths)."""
    if agents < MIN_AGENTS:
        raise PlanError(f"a chaos run needs at least {MIN_AGENTS} agents, not {agents}")
    unknown = set(kinds) - set(FAULT_KINDS)
    if not kinds or unknown:
        raise PlanError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
    rng = random.Random(seed)
    # Two slots in a third of the seeds, so the budget is tested above one as well.
    k = 2 if rng.random() < 1 / 3 and agents > 2 else 1
    faults = []
    shrunk = False
    for _ in range(rng.randint(MIN_FAULTS, MAX_FAULTS)):
        choices = [c for c in kinds if not (shrunk and c in SHRINKING_KINDS)]
        kind = rng.choice(choices)
        shrunk = shrunk or kind in SHRINKING_KINDS
        phase = rng.choice(PHASES)
        moment = Moment(phase, rng.randrange(agents),
                        at_launch=kind == SCHEDULER_KILL_AT_LAUNCH)
        target = rng.randrange(agents) if kind in TARGETED_KINDS else None
        faults.append(Fault(kind, moment, target))
    order = {phase: i for i, phase in enumerate(PHASES)}
    faults.sort(key=lambda f: (order[f.moment.phase], f.moment.complete))
    version = mesos_version or MESOS_VERSIONS[seed % len(MESOS_VERSIONS)]
    # Drawn after the faults, so a seed keeps the faults it drew before hosts had paths.
    # Among the first hosts at least one of each path; an added agent either, by a coin.
    starting = rng.sample(range(agents), rng.randint(1, agents - 1))
    added = sum(f.kind == AGENT_ADDED for f in faults)
    later = [agents + i for i in range(added) if rng.random() < 0.5]
    return ChaosPlan(seed, agents, k, tuple(faults), version, tuple(sorted(starting + later)))
