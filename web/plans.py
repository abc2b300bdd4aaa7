"""`/v1/plans`: the rollout as an SDK-style plan, for Cosmos's uninstall and SDK-minded tools.

Cosmos's uninstall of an app labelled `DCOS_COMMONS_UNINSTALL` restarts it with
SDK_UNINSTALL, then polls `GET /service/<app id>/<DCOS_COMMONS_API_VERSION>/plans/deploy`
through Admin Router and deletes the app once that answers 200; any other answer means "not
yet" (dcos/cosmos v0.4.1 and 9afd051e46, service/ServiceUninstaller.scala,
`checkSdkUninstallCompleted`). The answer codes and the body follow the SDK's plans
endpoint: 200 complete, 202 in progress, 417 when the plan has errors; `{"phases": [{"id",
"name", "steps": [{"id", "status", "name", "message"}], "strategy", "status"}], "strategy",
"errors", "status"}` (mesosphere/dcos-commons 0.40.0, http/PlansResource.java
`getPlanInfo`, http/types/PlanInfo.java, PhaseInfo.java, StepInfo.java).

There is one plan, `deploy`: the install rollout, or once uninstalling the uninstall with a
last `deregister` phase, complete only when the framework is torn down. So Cosmos deletes
the app only after every agent is uninstalled and Mesos has ended every task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify

from web.context import get_context
from web.contracts import Document
from web.errors import ApiError

bp = Blueprint("plans", __name__)

DEPLOY_PLAN = "deploy"
PLAN_NAMES = (DEPLOY_PLAN,)
STRATEGY = "serial"  # agents go as the restart budget allows; SDK tools only display it

COMPLETE, IN_PROGRESS, PENDING, WAITING, ERROR = (
    "COMPLETE", "IN_PROGRESS", "PENDING", "WAITING", "ERROR")
HTTP_STATUS = {COMPLETE: 200, ERROR: 417}
HTTP_IN_PROGRESS = 202
AGENT_STATUS = {"complete": COMPLETE, "gone": COMPLETE, "in_progress": IN_PROGRESS,
                "pending": PENDING, "failed": ERROR}


def _aggregate(statuses: Iterable[str]) -> str:
    found = set(statuses)
    if ERROR in found:
        return ERROR
    if found <= {COMPLETE}:
        return COMPLETE
    if found == {PENDING}:
        return PENDING
    return IN_PROGRESS


def _phase(name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": name, "name": name, "steps": steps, "strategy": STRATEGY,
            "status": _aggregate(step["status"] for step in steps)}


def _agent_steps(agents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    steps = []
    for agent in agents:
        state = agent.get("state", "pending")
        message = agent.get("waiting_reason") or ("agent gone" if state == "gone" else state)
        steps.append({"id": agent.get("id"), "name": agent.get("hostname"),
                      "status": AGENT_STATUS.get(state, PENDING), "message": message})
    return steps


def deploy_plan(document: Document) -> dict[str, Any]:
    """The `deploy` plan derived from the status document."""
    rollout = document.get("rollout", {})
    uninstalling = rollout.get("mode") == "uninstall"
    phases = [_phase("uninstall" if uninstalling else "install",
                     _agent_steps(document.get("agents", ())))]
    if uninstalling:
        torn_down = bool(document.get("framework", {}).get("torn_down"))
        phases.append(_phase("deregister", [{
            "id": "teardown", "name": "teardown", "status": COMPLETE if torn_down else PENDING,
            "message": "framework torn down, state removed" if torn_down
            else "once every agent is uninstalled"}]))
    state = rollout.get("state")
    errors = [rollout["reason"]] if state == "halted" and rollout.get("reason") else []
    if errors:
        status = ERROR
    elif state == "complete" and all(phase["status"] == COMPLETE for phase in phases):
        status = COMPLETE
    elif state == "paused":
        status = WAITING
    else:
        status = IN_PROGRESS
    return {"phases": phases, "strategy": STRATEGY, "errors": errors, "status": status}


@bp.get("/v1/plans")
def plans() -> Response:
    return jsonify(list(PLAN_NAMES))


@bp.get("/v1/plans/<name>")
def plan(name: str) -> tuple[Response, int]:
    if name not in PLAN_NAMES:
        raise ApiError(404, f"no plan named {name!r}; plans: {', '.join(PLAN_NAMES)}")
    body = deploy_plan(get_context().status.status())
    return jsonify(body), HTTP_STATUS.get(body["status"], HTTP_IN_PROGRESS)
