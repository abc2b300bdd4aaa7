"""From the validated config to the engine's plan and policy, and stored records back."""

from __future__ import annotations

import logging

from framework.config import (
    STEP_CALICO_NODE,
    STEP_CNI,
    STEP_DOCKER,
    STEP_ETCD_PROXY,
    STEP_VERIFY,
    Config,
)
from framework.engine import AgentRecord, Plan, Policy, RecordError, RetryPolicy, StepSpec
from framework.engine.plan import uninstall_spec

log = logging.getLogger(__name__)

# Agents whose own step is in flight are re-offered every second, so the next step starts
# as soon as one finishes; there are at most max_parallel + max_concurrent_restarts of
# them. Agents queued for a restart slot are declined for long and revived instead.
BUSY_REFUSE_S = 1.0


def engine_plan(config: Config) -> Plan:
    hashes = config.step_hashes()
    resources = {
        STEP_ETCD_PROXY: config.etcd_proxy.resources,
        STEP_DOCKER: config.docker.resources,
        STEP_CNI: config.cni.resources,
        STEP_CALICO_NODE: config.calico_node.resources,
        STEP_VERIFY: config.verify.resources,
    }
    # The uninstall task undoes what docker and cni did: it gets the larger of their shares.
    one_shot = (config.docker.resources, config.cni.resources)
    uninstall = uninstall_spec(max(r.cpus for r in one_shot), max(r.mem_mb for r in one_shot))
    # The etcd proxy's task is health-checked through the v2 API, calico/node's through
    # BIRD's port (framework/taskinfo.py): nothing that depends on them runs before their
    # check passes.
    return Plan(tuple(StepSpec(step, hashes[step], resources[step].cpus, resources[step].mem_mb,
                               ready_when_healthy=step in (STEP_ETCD_PROXY, STEP_CALICO_NODE))
                      for step in config.enabled_steps()), uninstall)


def engine_policy(config: Config) -> Policy:
    rollout = config.rollout
    return Policy(
        max_concurrent_restarts=rollout.max_concurrent_restarts,
        max_parallel=rollout.max_parallel_tasks,
        retry=RetryPolicy(max_attempts=rollout.retry_max_attempts,
                          backoff_base_s=rollout.backoff_base_s,
                          backoff_cap_s=rollout.backoff_cap_s),
        # The config counts the failed agent that halts the rollout; the engine counts
        # the failed agents it tolerates.
        max_failed=rollout.max_failed_agents - 1,
        refuse_wait_s=BUSY_REFUSE_S,
        gone_retention_s=rollout.gone_retention_s,
    )


def decode_record(agent_id: str, value: dict) -> AgentRecord | None:
    """A stored agent record; None for an undecodable one, which is logged and left for
    re-discovery."""
    try:
        return AgentRecord.from_dict(value)
    except RecordError as err:
        log.error("ignoring the stored record of agent %s: %s", agent_id, err)
        return None


def load_records(stored: dict[str, AgentRecord | None]) -> list[AgentRecord]:
    """The records `decode_record` could decode."""
    return [record for record in stored.values() if record is not None]
