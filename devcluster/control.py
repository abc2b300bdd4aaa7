"""Fault injection and host wiring over HTTP under /devcluster/ (never part of real Mesos)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devcluster.master import CallError

if TYPE_CHECKING:
    from devcluster.cluster import LocalCluster


class Control:
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
                agent = self.cluster.add_agent(public=bool(body.get("public", False)),
                                               hostname=_opt_str(body, "hostname"))
                return 201, {"id": agent.id, "hostname": agent.spec.hostname}
            case "GET", ["agents", agent_id, "unit"]:
                return 200, master.agent_unit_state(agent_id)
            case "POST", ["agents", agent_id, "unit"]:
                master.agent_unit_action(agent_id, str(body.get("action", "")))
                return 202, {}
            case "POST", ["agents", agent_id, ("lose" | "restore" | "remove") as what]:
                {"lose": master.lose_agent, "restore": master.restore_agent,
                 "remove": master.remove_agent}[what](agent_id)
                return 200, {}
            case "POST", ["frameworks", framework_id, "drop-stream"]:
                master.drop_stream(framework_id)
                return 200, {}
            case "POST", ["master", "failover"]:
                master.fail_over()
                return 200, {"master_id": master.master_id}
            case "POST", ["faults"]:
                self.set_faults(body)
                return 200, {}
        raise CallError(404, f"no control route {method} {path}")

    def agents(self) -> list[dict]:
        master = self.cluster.master
        with master.lock:
            return [{"id": a.id, "hostname": a.spec.hostname, "ip": a.spec.ip,
                     "public": a.spec.public, "root": str(a.spec.root), "state": a.state}
                    for a in master.agents.values()]

    def set_faults(self, body: dict) -> None:
        faults = self.cluster.master.faults
        with self.cluster.master.lock:
            if "update_delay_s" in body:
                delay = body["update_delay_s"]
                if not isinstance(delay, (int, float)) or delay < 0:
                    raise CallError(400, "update_delay_s must be a number >= 0")
                faults.update_delay_s = float(delay)
            if "duplicate_updates" in body:
                faults.duplicate_updates = bool(body["duplicate_updates"])
            if "fail_next_fetch" in body:
                faults.fetch_failures[str(body["fail_next_fetch"])] += 1


def _opt_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise CallError(400, f"'{key}' must be a string")
    return value
