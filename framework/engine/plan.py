"""The plan: which steps run on every agent, in which order, with which inputs and resources.

A step's `target_hash` summarises everything it installs (images, URLs, rendered config);
when it changes, the step re-runs on every agent, rolling. The plan also names the one-shot
`uninstall` step the uninstall plan runs on each agent (see uninstall.py); its target is
fixed: nothing of Calico left on the agent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from framework.engine.errors import PlanError

STEP_ETCD_PROXY = "etcd-proxy"
STEP_DOCKER = "docker"
STEP_CNI = "cni"
STEP_CALICO_NODE = "calico-node"
STEP_VERIFY = "verify"
STEP_UNINSTALL = "uninstall"
STEP_ORDER = (STEP_ETCD_PROXY, STEP_DOCKER, STEP_CNI, STEP_CALICO_NODE, STEP_VERIFY)
# Every step a task id may name: the install steps and the uninstall step.
TASK_STEPS = (*STEP_ORDER, STEP_UNINSTALL)
LONG_RUNNING_STEPS = frozenset({STEP_ETCD_PROXY, STEP_CALICO_NODE})
DISRUPTIVE_STEPS = frozenset({STEP_DOCKER, STEP_CNI, STEP_UNINSTALL})
# Steps that only observe: a failure marks the agent failed but does not count towards
# halting the rollout (nothing was changed that could spread harm to other agents).
OBSERVING_STEPS = frozenset({STEP_VERIFY})
UNINSTALL_TARGET = "uninstalled"
UNINSTALL_CPUS = 0.1
UNINSTALL_MEM = 64.0


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One enabled step: its target hash and the resources one task of it needs."""

    name: str
    target_hash: str
    cpus: float
    mem: float
    # A long-running step whose task carries a health check that proves it works: done
    # only once reported healthy (not merely running).
    ready_when_healthy: bool = False

    @property
    def long_running(self) -> bool:
        return self.name in LONG_RUNNING_STEPS

    @property
    def disruptive(self) -> bool:
        return self.name in DISRUPTIVE_STEPS

    @property
    def observing(self) -> bool:
        return self.name in OBSERVING_STEPS


def uninstall_spec(cpus: float = UNINSTALL_CPUS, mem: float = UNINSTALL_MEM) -> StepSpec:
    """The uninstall step with the resources one task of it needs."""
    return StepSpec(STEP_UNINSTALL, UNINSTALL_TARGET, cpus, mem)


@dataclass(frozen=True)
class Plan:
    """The enabled steps in plan order (disabled steps are simply absent), and the uninstall
    step the uninstall plan runs instead of them."""

    steps: tuple[StepSpec, ...]
    uninstall: StepSpec = field(default_factory=uninstall_spec)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        unknown = [n for n in names if n not in STEP_ORDER]
        if unknown:
            raise PlanError(f"unknown steps {unknown}; known: {list(STEP_ORDER)}")
        if names != [n for n in STEP_ORDER if n in names]:
            raise PlanError(f"steps {names} must be distinct and in the order {list(STEP_ORDER)}")
        for spec in self.steps:
            if not spec.target_hash:
                raise PlanError(f"step {spec.name} has an empty target hash")
        for spec in (*self.steps, self.uninstall):
            if not spec.cpus > 0 or not spec.mem > 0:
                raise PlanError(f"step {spec.name} needs positive cpus and mem")
        if (self.uninstall.name, self.uninstall.target_hash) != (STEP_UNINSTALL, UNINSTALL_TARGET):
            raise PlanError(f"the uninstall step must be {STEP_UNINSTALL!r} with target "
                            f"{UNINSTALL_TARGET!r}")
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(names)})

    def spec(self, name: str) -> StepSpec | None:
        if name == STEP_UNINSTALL:
            return self.uninstall
        index = self._index.get(name)
        return None if index is None else self.steps[index]

    @property
    def config_hash(self) -> str:
        """One hash of every enabled step's target, shown on the status page."""
        text = "\n".join(f"{s.name}={s.target_hash}" for s in self.steps)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
