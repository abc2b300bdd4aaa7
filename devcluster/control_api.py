"""Fault injection and host wiring over HTTP under /devcluster/ (never part of real Mesos).

Routes (JSON bodies and answers; bad input 400, unknown agents or frameworks 404):
  GET  /devcluster/agents                 {"agents": [{id, hostname, ip, public, root, state}]}
  POST /devcluster/agents                 {"public"?: bool, "hostname"?: str} -> 201 {id, hostname}
  GET  /devcluster/agents/<id>/unit       {unit, active_state, active_since, restarts}
  POST /devcluster/agents/<id>/unit       {"action": start|stop|restart, "duration_s"?: n} -> 202
  POST /devcluster/agents/<id>/lose|restore|remove
       lose: a network partition (the master marks the agent unreachable); restore: it
       ends; remove: the agent leaves for good as the emulated Mesos allows (marked gone
       on 1.8; unregistered, or dropped from the registry when unreachable, on 1.4)
  POST /devcluster/frameworks/<id>/drop-stream|teardown
  POST /devcluster/master/failover        -> {"master_id": new id}; agents recover, then
       re-register (docs/devcluster.md)
  GET  /devcluster/faults, POST /devcluster/faults
       {"update_delay_s"?: n >= 0, "duplicate_updates"?: bool, "fail_next_fetch"?: agent id|"*"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devcluster.errors import CallError

if TYPE_CHECKING:
    from devcluster.cluster import LocalCluster


FAULT_KEYS = frozenset({"update_delay_s", "duplicate_updates", "fail_next_fetch"})


class ControlApi:
    """The /devcluster/ routes above, answered over one `LocalCluster`."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        parts = [p for p in path.split("/") if p][1:]
        master = self.cluster.master
        if not isinstance(body, (dict, type(None))):
            raise CallError(400, "body must be a JSON object")
        body = body or {}
        match method, parts:
            case "GET", ["agents"]:
                return 200, {"agents": self.agents()}
            case "POST", ["agents"]:
                public = body.get("public", False)
                if not isinstance(public, bool):
                    raise CallError(400, "'public' must be true or false")
                agent = self.cluster.add_agent(public=public,
                                               hostname=_opt_str(body, "hostname"))
                return 201, {"id": agent.id, "hostname": agent.spec.hostname}
            case "GET", ["agents", agent_id, "unit"]:
                return 200, master.agent_unit_state(agent_id)
            case "POST", ["agents", agent_id, "unit"]:
                duration = body.get("duration_s")
                if duration is not None and (isinstance(duration, bool) or not isinstance(
                        duration, (int, float)) or duration < 0):
                    raise CallError(400, "duration_s must be a number >= 0")
                master.agent_unit_action(agent_id, str(body.get("action", "")), duration)
                return 202, {}
            case "POST", ["agents", agent_id, ("lose" | "restore" | "remove") as what]:
                {"lose": master.lose_agent, "restore": master.restore_agent,
                 "remove": master.remove_agent}[what](agent_id)
                return 200, {}
            case "POST", ["frameworks", framework_id, "drop-stream"]:
                master.drop_stream(framework_id)
                return 200, {}
            case "POST", ["frameworks", framework_id, "teardown"]:
                if framework_id not in master.frameworks:
                    raise CallError(404, f"unknown framework '{framework_id}'")
                master.teardown_framework(framework_id)
                return 200, {}
            case "POST", ["master", "failover"]:
                master.fail_over()
                return 200, {"master_id": master.master_id}
            case "GET", ["faults"]:
                return 200, self.faults()
            case "POST", ["faults"]:
                self.set_faults(body)
                return 200, self.faults()
        raise CallError(404, f"no control route {method} {path}")

    def agents(self) -> list[dict]:
        master = self.cluster.master
        with master.lock:
            return [{"id": a.id, "hostname": a.spec.hostname, "ip": a.spec.ip,
                     "public": a.spec.public, "root": str(a.spec.root), "state": a.state}
                    for a in master.agents.values()]

    def set_faults(self, body: dict) -> None:
        """Validate everything first, so a bad request changes nothing."""
        unknown = set(body) - FAULT_KEYS
        if unknown:
            raise CallError(400, f"unknown fault(s): {', '.join(sorted(unknown))}")
        delay = body.get("update_delay_s", 0.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise CallError(400, "update_delay_s must be a number >= 0")
        if not isinstance(body.get("duplicate_updates", False), bool):
            raise CallError(400, "duplicate_updates must be true or false")
        target = _opt_str(body, "fail_next_fetch")
        if target is not None and target != "*" and target not in self.cluster.master.agents:
            raise CallError(404, f"unknown agent '{target}'")
        faults = self.cluster.master.faults
        with self.cluster.master.lock:
            if "update_delay_s" in body:
                faults.update_delay_s = float(delay)
            if "duplicate_updates" in body:
                faults.duplicate_updates = body["duplicate_updates"]
            if target is not None:
                faults.fetch_failures[target] += 1

    def faults(self) -> dict:
        faults = self.cluster.master.faults
        with self.cluster.master.lock:
            return {"update_delay_s": faults.update_delay_s,
                    "duplicate_updates": faults.duplicate_updates,
                    "fail_next_fetch": {k: v for k, v in faults.fetch_failures.items() if v}}


def _opt_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise CallError(400, f"'{key}' must be a string")
    return value
