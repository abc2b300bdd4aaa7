"""Locally simulated systemd units: docker, and the agent unit of a standalone host.

A unit's record (ROOT/var/lib/devcluster/units/<unit>.json) holds its settled state and at
most one job in flight with absolute deadlines: stopping takes half of the unit's restart
time, starting the other half. The current state is therefore a function of the record and
the clock, so any process can compute it; whichever process first sees a finished job
settles it and logs its `end` event (stamped with the job's real end time). Callers hold
the host lock (HostDir.locked()) around every function here that takes `now`.

Docker's start outcome is decided when the job is requested, from the daemon.json and unit
ExecStart in place at that moment, exactly as dockerd would judge them (dockerd.py: moby's
config loading and flag-conflict checks); what a reload takes is in reload.py and what
happens to containers across a daemon restart in containers.py, each with its moby source.
"""

from __future__ import annotations

import time

from devcluster.host import containers, dockerd, faults, reload, store, unitfile
from devcluster.host.errors import StateError, UnitError
from devcluster.host.hostdir import DOCKER_UNIT, HostDir

ACTIVE = "active"
INACTIVE = "inactive"
FAILED = "failed"
ACTIVATING = "activating"
DEACTIVATING = "deactivating"
RUNNING_STATES = (ACTIVE, ACTIVATING, DEACTIVATING)
ACTIONS = ("start", "stop", "restart")
CRASH_EXIT_CODE = 137


def restart_seconds(host: HostDir, unit: str) -> float:
    key = "docker_restart_s" if unit == DOCKER_UNIT else "agent_restart_s"
    return float(host.spec[key])


def fresh_record(state: str, now: float) -> dict:
    return {
        "state": state,
        "since": now,
        "result": "success",
        "reason": None,
        "restarts": 0,
        "config": None,
        "crash_at": None,
        "job": None,
        "last_job": None,
        "next_job_id": 1,
        "store": None,  # docker: how opening its cluster store went (dockerd.py)
        "netstore": None,  # docker: the store libnetwork uses (reload.py), may differ from config's
    }


def load(host: HostDir, unit: str) -> dict:
    record = store.read_json(host.unit_state_path(unit), None)
    if not isinstance(record, dict):
        raise StateError(f"unit {unit} has no state on host {host.root}")
    return record


def save(host: HostDir, unit: str, record: dict) -> None:
    path = host.unit_state_path(unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    store.write_json(path, record)


def job_end(job: dict) -> float:
    """When the job is over: the end of its start phase, or of its stop phase for a stop."""
    return job["start_until"] if job["start_until"] is not None else job["stop_until"]


def active_state(record: dict, now: float) -> str:
    """systemd's ActiveState for a settled record at time now."""
    job = record["job"]
    if job is not None:
        if now < job["stop_until"]:
            return DEACTIVATING
        if job["start_until"] is not None and now < job["start_until"]:
            return ACTIVATING
    return record["state"]


def start_outcome(host: HostDir, unit: str) -> tuple[str, str | None, dict | None]:
    """(state after starting, failure reason, effective daemon config) for a start now."""
    current_faults = faults.get_faults(host.root)
    if unit != DOCKER_UNIT:
        if current_faults.get("agent_never_starts"):
            return FAILED, f"{unit} did not come up (injected fault agent_never_starts)", None
        return ACTIVE, None, None
    if current_faults.get("docker_never_starts"):
        return FAILED, "dockerd did not come up (injected fault docker_never_starts)", None
    try:
        daemon_json = host.daemon_json.read_bytes()
    except FileNotFoundError:
        daemon_json = None
    try:
        config = dockerd.effective_config(
            host.spec["docker_version"], daemon_json, unitfile.exec_start(host, unit))
    except (dockerd.DaemonConfigError, StateError) as exc:
        return FAILED, str(exc), None
    return ACTIVE, None, config


def initial_record(host: HostDir, unit: str, now: float) -> dict:
    """A unit as found on a freshly booted host: started, or failed if it cannot start."""
    state, reason, config = start_outcome(host, unit)
    record = fresh_record(state, now)
    record.update(reason=reason, config=config, result="success" if reason is None else "exit-code")
    if state == ACTIVE:
        record["crash_at"] = _crash_at(host, unit, now)
        if unit == DOCKER_UNIT:
            _open_store(host, record, (config or {}).get("cluster-store"))
    return record


def _open_store(host: HostDir, record: dict, store: str | None) -> None:
    record["netstore"] = store or None
    record["store"] = dockerd.open_cluster_store(store, host.spec.get("netns"))


def _crash_at(host: HostDir, unit: str, started: float) -> float | None:
    if unit != DOCKER_UNIT:
        return None
    after = faults.get_faults(host.root).get("docker_crashes_after_s")
    return None if after is None else started + float(after)


def _finish_job(host: HostDir, unit: str, record: dict) -> None:
    job = record["job"]
    end = job_end(job)
    record.update(
        state=job["outcome"],
        since=end,
        reason=job["reason"],
        result="success" if job["outcome"] != FAILED else "exit-code",
        job=None,
        last_job={"id": job["id"], "outcome": job["outcome"], "reason": job["reason"]},
        crash_at=None,
    )
    if job["action"] == "restart":
        record["restarts"] += 1
    if job["outcome"] == ACTIVE:
        record["config"] = job["config"]
        record["crash_at"] = _crash_at(host, unit, end)
        if unit == DOCKER_UNIT:
            containers.daemon_started(host, end)
            _open_store(host, record, (job["config"] or {}).get("cluster-store"))
    extra = {"job": job["id"], "time": end}
    if job["reason"]:
        extra["reason"] = job["reason"]
    host.log(unit, job["action"], "end", job["outcome"] != FAILED, **extra)


def settle(host: HostDir, unit: str, now: float) -> dict:
    """The unit's record with every job or injected crash due by `now` applied and saved."""
    record = load(host, unit)
    changed = False
    if record["job"] is not None and now >= job_end(record["job"]):
        _finish_job(host, unit, record)
        changed = True
    crash_at = record["crash_at"]
    if record["job"] is None and record["state"] == ACTIVE and crash_at is not None \
            and now >= crash_at:
        if unit == DOCKER_UNIT:
            containers.daemon_stopped(host, crash_at, CRASH_EXIT_CODE,
                                      dockerd.live_restore(record["config"]))
        record.update(state=FAILED, since=crash_at, result="signal", config=None, crash_at=None,
                      store=None, netstore=None,
                      reason=f"{unit} exited unexpectedly (injected fault)")
        changed = True
    if changed:
        save(host, unit, record)
    return record


def request(host: HostDir, unit: str, action: str, now: float) -> dict | None:
    """Begin a start/stop/restart job; None when there is nothing to do (already there)."""
    if action not in ACTIONS:
        raise UnitError(f"unit action must be one of {ACTIONS}, not {action!r}")
    record = settle(host, unit, now)
    current = active_state(record, now)
    if action == "start" and current in (ACTIVE, ACTIVATING) and _job_ends_active(record):
        return None
    if action == "stop" and current in (INACTIVE, FAILED):
        return None
    half = restart_seconds(host, unit) / 2
    stop_until = now + half if action != "start" and current in RUNNING_STATES else now
    if action == "stop":
        outcome, reason, config, start_until = INACTIVE, None, None, None
    else:
        outcome, reason, config = start_outcome(host, unit)
        start_until = stop_until + half
    cancelled = record["job"]
    if cancelled is not None:
        record["last_job"] = {"id": cancelled["id"], "outcome": "canceled", "reason": None}
        host.log(unit, cancelled["action"], "end", False, job=cancelled["id"], time=now,
                 reason="canceled by a later job")
    job = {
        "id": record["next_job_id"],
        "action": action,
        "begun": now,
        "stop_until": stop_until,
        "start_until": start_until,
        "outcome": outcome,
        "reason": reason,
        "config": config,
    }
    if unit == DOCKER_UNIT and record["state"] == ACTIVE:
        containers.daemon_stopped(host, now, containers.STOP_EXIT_CODE,
                                  dockerd.live_restore(record["config"]))
    record.update(job=job, next_job_id=job["id"] + 1, crash_at=None, state=INACTIVE, config=None,
                  store=None, netstore=None)
    save(host, unit, record)
    host.log(unit, action, "begin", True, job=job["id"], time=now)
    return job


def reload_docker(host: HostDir, now: float) -> list[str]:
    """SIGHUP to the running dockerd (ExecReload): its log lines. The caller checked that
    docker is active and that the unit has an ExecReload."""
    record = settle(host, DOCKER_UNIT, now)
    try:
        daemon_json = host.daemon_json.read_bytes()
    except FileNotFoundError:
        daemon_json = None
    try:
        exec_start = unitfile.exec_start(host, DOCKER_UNIT)
    except StateError as exc:
        return [f"Error reloading configuration: {exc}"]
    result = reload.reload(host.spec["docker_version"], record["config"] or {},
                           record.get("netstore"), daemon_json, exec_start)
    record["config"] = result.config
    if result.store_taken:
        _open_store(host, record, result.netstore)
    save(host, DOCKER_UNIT, record)
    host.log(DOCKER_UNIT, "reload", "begin", True, time=now)
    host.log(DOCKER_UNIT, "reload", "end", not result.logs[-1].startswith("Error"), time=now,
             reason=" / ".join(result.logs))
    return result.logs


def _job_ends_active(record: dict) -> bool:
    job = record["job"]
    return job is None or job["outcome"] == ACTIVE


def reset_failed(host: HostDir, unit: str, now: float) -> None:
    """systemctl reset-failed: a settled failed unit becomes inactive."""
    record = settle(host, unit, now)
    if record["job"] is None and record["state"] == FAILED:
        record.update(state=INACTIVE, since=now, result="success", reason=None)
        save(host, unit, record)


def job_result(record: dict, job_id: int) -> dict | None:
    """The finished job's {'outcome', 'reason'} once settled, None while it still runs."""
    last = record["last_job"]
    if last is not None and last["id"] == job_id:
        return last
    if record["job"] is None or record["job"]["id"] != job_id:
        return {"outcome": "canceled", "reason": None}
    return None


def monotonic_of(unix_time: float) -> float:
    """Convert a unix timestamp into this machine's CLOCK_MONOTONIC scale (seconds)."""
    return unix_time - (time.time() - time.monotonic())
