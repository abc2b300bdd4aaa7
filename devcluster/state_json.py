"""/master/state, /master/slaves and /version in the JSON shapes real Mesos masters serve.

Per emulated version (devcluster.versions): the version and build sha, master
capabilities (1.8.x only, master/constants.cpp), agent capabilities (slave/constants.cpp).
Registered agents (connected or not) are `slaves`; agents known from the registry after a
failover and not re-registered yet are `recovered_slaves`, as SlaveInfo (common/http.cpp
`json(JSON::ObjectWriter*, const SlaveInfo&)`); unreachable and gone agents are in
neither. A MULTI_ROLE framework has `roles`, any other `role` (1.4.3 http.cpp
`FullFrameworkWriter`, 1.8.x readonly_handler.cpp).
"""

from __future__ import annotations

import time

from devcluster.agent import SimulatedAgent
from devcluster.master import Master
from devcluster.master_records import COMPLETED_TASKS_KEPT, AgentTask, Framework, Offer
from devcluster.protocol import Resources, duration_text
from devcluster.versions import MesosVersion

BUILD_TIME = 1577836800.0
REGISTERED = ("active", "disconnected")


def offers_by_agent(master: Master) -> dict[str, list[Offer]]:
    """Outstanding offers grouped by agent, built once per document (not per agent)."""
    grouped: dict[str, list[Offer]] = {}
    for offer in master.offers.values():
        grouped.setdefault(offer.agent_id, []).append(offer)
    return grouped


def version_json(mesos: MesosVersion) -> dict:
    return {"version": mesos.version, "git_sha": mesos.git_sha, "build_user": "devcluster",
            "build_date": "2020-01-01 00:00:00", "build_time": BUILD_TIME}


def agent_info_json(agent: SimulatedAgent) -> dict:
    spec = agent.spec
    name, value = spec.attribute
    return {"id": agent.id, "hostname": spec.hostname, "port": spec.http_port,
            "attributes": {name: value} if spec.public else {}}


def agent_json(agent: SimulatedAgent, offers: list[Offer]) -> dict:
    spec = agent.spec
    total = spec.total_resources()
    used = Resources()
    offered = Resources()
    for task in agent.tasks.values():
        if not task.terminal:
            used.add(task.resources)
    for offer in offers:
        offered.add(offer.resources)
    body = {
        **agent_info_json(agent),
        "pid": f"slave(1)@{spec.ip}:{spec.http_port}",
        "registered_time": agent.registered_time,
        **({"reregistered_time": agent.reregistered_time}
           if agent.reregistered_time is not None else {}),
        "resources": total.to_summary(),
        "used_resources": used.to_summary(),
        "offered_resources": offered.to_summary(),
        "reserved_resources": {spec.role: total.to_summary()} if spec.public else {},
        "unreserved_resources": Resources().to_summary() if spec.public else total.to_summary(),
        "active": agent.state == "active",
        "version": agent.link.mesos.version,
        "capabilities": list(agent.link.mesos.agent_capabilities),
    }
    return body


def _full_resources(agent: SimulatedAgent, offers: list[Offer]) -> dict:
    """The `*_resources_full` lists of /master/slaves: v1 resource objects."""
    role = agent.spec.role
    used = [r for t in agent.tasks.values() if not t.terminal
            for r in t.resources.to_v1(t.role)]
    offered = [r for o in offers for r in o.resources.to_v1(o.role)]
    reserved = {role: agent.spec.total_resources().to_v1(role)} if role != "*" else {}
    return {"reserved_resources_full": reserved, "used_resources_full": used,
            "offered_resources_full": offered}


def slaves_json(master: Master) -> dict:
    with master.lock:
        offers = offers_by_agent(master)
        return {"slaves": [{**agent_json(a, offers.get(a.id, [])),
                            **_full_resources(a, offers.get(a.id, []))}
                           for a in master.agents.values() if a.state in REGISTERED],
                "recovered_slaves": _recovered(master)}


def _recovered(master: Master) -> list[dict]:
    return [agent_info_json(a) for a in master.agents.values() if a.state == "recovered"]


STATUS_KEYS = ("state", "timestamp", "healthy", "container_status")


def task_json(task: AgentTask) -> dict:
    body = {
        "id": task.task_id,
        "name": task.name,
        "framework_id": task.framework_id,
        "executor_id": "",
        "slave_id": task.agent_id,
        "state": task.state,
        "resources": task.resources.to_summary(),
        "role": task.role,
        "statuses": [{k: s[k] for k in STATUS_KEYS if k in s} for s in task.statuses],
    }
    for key in ("labels", "discovery", "container"):
        if isinstance(task.info.get(key), dict):
            body[key] = task.info[key]["labels"] if key == "labels" else task.info[key]
    return body


def framework_json(fw: Framework) -> dict:
    used = Resources()
    live = [t for t in fw.tasks.values() if not t.terminal]
    for task in live:
        used.add(task.resources)
    offered = Resources()
    for offer in fw.offers.values():
        offered.add(offer.resources)
    info = fw.info
    return {
        "id": fw.id,
        "name": info.get("name", ""),
        "pid": "",
        "used_resources": used.to_summary(),
        "offered_resources": offered.to_summary(),
        "capabilities": sorted(fw.capabilities),
        "hostname": info.get("hostname", ""),
        "webui_url": info.get("webui_url", ""),
        "active": fw.connected,
        "connected": fw.connected,
        "recovered": False,
        "user": info.get("user", ""),
        "failover_timeout": float(info.get("failover_timeout", 0.0)),
        "checkpoint": bool(info.get("checkpoint", False)),
        "registered_time": fw.registered_time,
        **({"reregistered_time": fw.reregistered_time} if fw.reregistered_time else {}),
        "unregistered_time": fw.unregistered_time,
        "principal": info.get("principal", ""),
        "resources": used.to_summary(),
        **({"roles": fw.roles} if "MULTI_ROLE" in fw.capabilities
           else {"role": info.get("role", "*")}),
        "tasks": [task_json(t) for t in live],
        "unreachable_tasks": [task_json(t) for t in fw.unreachable_tasks.values()],
        "completed_tasks": [task_json(t) for t in fw.completed_tasks],
        "offers": [{"id": o.id, "framework_id": fw.id, "slave_id": o.agent_id,
                    "resources": o.resources.to_summary()} for o in fw.offers.values()],
        "executors": [],
    }


def flags_json(master: Master) -> dict:
    """The master flags the emulator honours, as strings the way masters print them."""
    options = master.options
    flags = {
        "authenticate_http_frameworks": "true" if options.principal else "false",
        "allocation_interval": duration_text(options.allocation_interval_s),
        "max_completed_tasks_per_framework": str(COMPLETED_TASKS_KEPT),
        "port": str(master.address[1]),
    }
    if options.offer_timeout_s is not None:
        flags["offer_timeout"] = duration_text(options.offer_timeout_s)
    return flags


def state_json(master: Master) -> dict:
    host, port = master.address
    with master.lock:
        agents = list(master.agents.values())
        offers = offers_by_agent(master)
        return {
            **version_json(master.mesos),
            "start_time": master.start_time,
            "elected_time": master.elected_time,
            "id": master.master_id,
            "pid": f"master@{host}:{port}",
            "hostname": host,
            **({"capabilities": list(master.mesos.master_capabilities)}
               if master.mesos.master_capabilities else {}),
            "activated_slaves": float(sum(a.state == "active" for a in agents)),
            "deactivated_slaves": float(sum(a.state == "disconnected" for a in agents)),
            "unreachable_slaves": float(sum(a.state == "unreachable" for a in agents)),
            "leader": f"master@{host}:{port}",
            "leader_info": master.master_info(),
            "cluster": "devcluster",
            "flags": flags_json(master),
            "slaves": [agent_json(a, offers.get(a.id, [])) for a in agents
                       if a.state in REGISTERED],
            "recovered_slaves": _recovered(master),
            "frameworks": [framework_json(fw) for fw in master.frameworks.values()],
            "completed_frameworks": [framework_json(fw)
                                     for fw in master.removed_frameworks.values()],
            "orphan_tasks": [],
            "unregistered_frameworks": [],
            "generated_at": time.time(),
        }
