"""The invariants every chaos run must keep, as pure checks over what the run observed.

Each check takes plain facts (host events, etcd records, the master's /master/state, the
schedulers' logged actions, final status documents) and returns the problems it found, one
sentence each; an empty list means the invariant held.
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from framework.engine.tasks import TERMINAL_STATES, TaskIdError, parse_task_id
from tests.chaos.schedulers import Action
from tests.chaos.windows import (
    PATH_LIVE,
    PATH_RESTART,
    disruption_windows,
    peak_disruption,
    restarts_between,
)

LONG_RUNNING_STEPS = ("etcd-proxy", "calico-node")
SETTLED_STATES = ("complete", "halted")

BUDGET = "budget"
END_STATE = "end_state"
RESTARTS = "restarts"
UNKNOWN_TASKS = "unknown_tasks"
ONE_NODE_PER_AGENT = "one_calico_node_per_agent"
RECORDS_AGREE = "records_agree_with_master"
ONE_SCHEDULER = "one_scheduler_acting"
PATHS = "path_as_planned"
DOCKER_STORE = "docker_store_converged"
NETWORK = "network_verified"
INVARIANTS = (BUDGET, END_STATE, RESTARTS, PATHS, DOCKER_STORE, NETWORK, UNKNOWN_TASKS,
              ONE_NODE_PER_AGENT, RECORDS_AGREE, ONE_SCHEDULER)
NO_PATH = "none"


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str


def check_budget(events: Iterable[Mapping], removed_at: Mapping[str, float],
                 max_concurrent: int) -> list[str]:
    peak, when, who = peak_disruption(disruption_windows(events, removed_at))
    if peak <= max_concurrent:
        return []
    return [f"{peak} agents disrupted at once at {when:.3f} ({', '.join(who)}), "
            f"max_concurrent_restarts is {max_concurrent}"]


def check_end_state(status: Mapping | None, present: Collection[str],
                    permanently_faulted: Collection[str]) -> list[str]:
    """Every present agent complete, or failed with a reason when its fault was permanent.

    A permanent fault may halt the rollout (the failure budget is exhausted); agents it
    holds back may then wait, provided the status says why.
    """
    if status is None:
        return ["no scheduler leads at the end of the rollout"]
    problems = []
    state = status["rollout"]["state"]
    halted_for_fault = state == "halted" and bool(permanently_faulted)
    if state not in SETTLED_STATES or (state == "halted" and not halted_for_fault):
        problems.append(f"rollout ended {state!r} ({status['rollout'].get('reason')})")
    agents = {a["id"]: a for a in status["agents"]}
    for agent_id in sorted(present):
        agent = agents.get(agent_id)
        if agent is None:
            problems.append(f"agent {agent_id} is present but the status does not list it")
        elif agent["state"] == "failed" and agent_id in permanently_faulted:
            if not any(s["state"] == "failed" and s.get("message") for s in agent["steps"]):
                problems.append(f"agent {agent_id} failed without a reason")
        elif halted_for_fault and agent["state"] != "failed" and agent.get("waiting_reason"):
            continue  # held back by a halt the permanent fault caused, and says so
        elif agent["state"] != "complete":
            problems.append(f"agent {agent_id} ended {agent['state']!r} "
                            f"({agent.get('waiting_reason')})")
    return problems


def check_restarts(events: Iterable[Mapping], start: float, end: float,
                   forced: Collection[str]) -> list[str]:
    """No unit restarted twice on an agent within one config change, unless forced."""
    counts = restarts_between(list(events), start, end)
    return [f"{unit} on {agent} restarted {n} times in one rollout"
            for (agent, unit), n in sorted(counts.items()) if n > 1 and agent not in forced]


def check_paths(phase: str, expected: Mapping[str, str], observed: Mapping[str, str],
                complete: Collection[str], labels: Mapping[str, str]) -> list[str]:
    """A host whose Docker takes the change live never restarts a unit (it would have
    needed no restart slot), and every host that completed the rollout took the path its
    Docker needs: restarted where Docker ran another store, reloaded where it ran none."""
    problems = []
    for agent_id, want in sorted(expected.items()):
        got = observed.get(agent_id, NO_PATH)
        name = f"agent {labels.get(agent_id, '?')} ({agent_id})"
        if want == PATH_LIVE and got == PATH_RESTART:
            problems.append(f"{name} was restarted in the {phase} rollout, but its Docker "
                            f"takes the change live")
        elif agent_id in complete and got != want:
            problems.append(f"{name} completed the {phase} rollout by the {got!r} path, "
                            f"not {want!r}")
    return problems


def check_docker_store(target: str, stores: Mapping[str, str | None],
                       labels: Mapping[str, str]) -> list[str]:
    """Every complete agent's running Docker uses the configured cluster store: the store
    libnetwork took (a refused reload leaves the old one), not only what daemon.json says."""
    return [f"agent {labels.get(agent_id, '?')} ({agent_id}) is complete but its Docker runs "
            f"cluster store {store!r}, not {target!r}"
            for agent_id, store in sorted(stores.items()) if store != target]


def check_network(status: Mapping | None, complete: Collection[str],
                  labels: Mapping[str, str]) -> list[str]:
    """Every complete agent's network is verified with an address of its own (the verify
    step's task got it from calico-ipam; two agents with one address would be a double
    allocation)."""
    agents = {a["id"]: a for a in (status or {}).get("agents", [])}
    problems, owners = [], collections.defaultdict(list)
    for agent_id in sorted(complete):
        network = (agents.get(agent_id) or {}).get("network") or {}
        name = f"agent {labels.get(agent_id, '?')} ({agent_id})"
        if network.get("state") != "verified" or not network.get("ip"):
            problems.append(f"{name} is complete but its network is {network or 'unknown'}")
        else:
            owners[network["ip"]].append(name)
    problems += [f"{', '.join(names)} were verified with one address {ip}"
                 for ip, names in sorted(owners.items()) if len(names) > 1]
    return problems


def live_master_tasks(master_state: Mapping, framework_name: str) -> dict[str, dict]:
    """Task id -> task of every non-terminal task of our framework(s) the master reports."""
    tasks = {}
    for fw in [*master_state.get("frameworks", []),
               *master_state.get("completed_frameworks", [])]:
        if fw.get("name") != framework_name:
            continue
        for task in fw.get("tasks", []):
            if task["state"] not in TERMINAL_STATES:
                tasks[task["id"]] = task
    return tasks


def live_record_tasks(records: Mapping[str, Mapping]) -> dict[str, str]:
    """Task id -> recorded state of every task the etcd records call live."""
    live = {}
    for record in records.values():
        for step in record.get("steps", {}).values():
            state = step.get("task_state")
            if step.get("task_id") and state is not None and state not in TERMINAL_STATES:
                live[step["task_id"]] = state
    return live


def check_unknown_tasks(master_tasks: Mapping[str, Mapping],
                        records: Mapping[str, Mapping]) -> list[str]:
    """No task of ours runs that no record knows."""
    known = {step.get("task_id") for r in records.values()
             for step in r.get("steps", {}).values()}
    return [f"task {task_id} ({task['state']}) runs on {task['slave_id']} but no record "
            f"knows it" for task_id, task in sorted(master_tasks.items())
            if task_id not in known]


def check_one_node_per_agent(master_tasks: Mapping[str, Mapping], complete: Collection[str],
                             containers: Mapping[str, int]) -> list[str]:
    """Exactly one task of each long-running step per complete agent, one calico-node
    container per host."""
    per_agent: collections.Counter = collections.Counter()
    problems = []
    for task_id in master_tasks:
        try:
            step, agent_id = parse_task_id(task_id)
        except TaskIdError:
            problems.append(f"task {task_id} does not follow the task id contract")
            continue
        per_agent[(agent_id, step)] += 1
    for agent_id in sorted(complete):
        for step in LONG_RUNNING_STEPS:
            if per_agent[(agent_id, step)] != 1:
                problems.append(f"agent {agent_id} has {per_agent[(agent_id, step)]} "
                                f"live {step} tasks")
    for (agent_id, step), n in sorted(per_agent.items()):
        if n > 1 and agent_id not in complete:
            problems.append(f"agent {agent_id} has {n} live {step} tasks")
    for agent_id, n in sorted(containers.items()):
        if n != 1:
            problems.append(f"host of agent {agent_id} runs {n} calico-node containers")
    return problems


def check_records_agree(master_tasks: Mapping[str, Mapping],
                        records: Mapping[str, Mapping]) -> list[str]:
    """Tasks the records call live are the tasks the master reports live, in the same state."""
    recorded = live_record_tasks(records)
    problems = [f"record says {task_id} is {state} but the master has it terminal "
                f"or does not know it" for task_id, state in sorted(recorded.items())
                if task_id not in master_tasks]
    problems += [f"master has {task_id} {task['state']} but its record says "
                 f"{recorded[task_id]}" for task_id, task in sorted(master_tasks.items())
                 if task_id in recorded and recorded[task_id] != task["state"]]
    return problems


def check_one_scheduler(actions: Iterable[Action]) -> list[str]:
    """Every launch or kill comes from the scheduler that took the leader lock last."""
    leader = None
    problems = []
    for action in actions:
        if action.kind == "leader":
            leader = action.scheduler
        elif action.scheduler != leader:
            problems.append(f"{action.scheduler} logged {action.kind} {action.task_id} at "
                            f"{action.time:.3f} while {leader} held the leader lock")
    return problems
