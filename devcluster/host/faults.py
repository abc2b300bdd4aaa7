"""Fault knobs a test sets on a simulated host; stored in ROOT/var/lib/devcluster/faults.json.

    set_fault(root, "docker_never_starts", True)
    set_fault(root, "hang_units", ["docker"])
    clear_fault(root, "hang_units")
"""

from __future__ import annotations

from pathlib import Path

from devcluster.host import store
from devcluster.host.errors import FaultError
from devcluster.host.hostdir import HostDir


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def _is_exit_codes(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 255
        for code in value.values()
    )


FAULTS = {
    "docker_never_starts": (_is_bool, "true: every Docker start ends with the unit failed"),
    "agent_never_starts": (_is_bool, "true: every local agent-unit start ends failed"),
    "docker_crashes_after_s": (
        _is_seconds, "seconds: Docker fails that long after each successful start"),
    "hang_units": (_is_names, "unit names: systemctl commands on them hang until cleared"),
    "hang_docker_cli": (_is_bool, "true: every docker command hangs until cleared"),
    "missing_images": (_is_names, "images: docker run/pull of them fails like a failed pull"),
    "container_exit": (
        _is_exit_codes, "{name: code}: that running container exits with code (once)"),
}


def get_faults(root: Path | str) -> dict:
    """The faults currently set on the host (name -> value)."""
    value = store.read_json(HostDir(root).faults_path, {})
    return value if isinstance(value, dict) else {}


def set_fault(root: Path | str, name: str, value: object = True) -> None:
    """Set one fault; False or None clears it."""
    if name not in FAULTS:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
    if value is None or value is False:
        clear_fault(root, name)
        return
    check, meaning = FAULTS[name]
    if not check(value):
        raise FaultError(f"fault {name} takes {meaning}; got {value!r}")
    host = HostDir(root)
    host.load_spec()
    with host.locked():
        current = get_faults(root)
        current[name] = value
        store.write_json(host.faults_path, current)


def clear_fault(root: Path | str, name: str) -> None:
    if name not in FAULTS:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
    host = HostDir(root)
    host.load_spec()
    with host.locked():
        current = get_faults(root)
        if current.pop(name, None) is not None:
            store.write_json(host.faults_path, current)


def consume_container_exit(host: HostDir, name: str) -> int | None:
    """The injected exit code for container `name`, removed once taken. Caller holds the lock."""
    current = get_faults(host.root)
    codes = current.get("container_exit") or {}
    if name not in codes:
        return None
    code = codes.pop(name)
    if codes:
        current["container_exit"] = codes
    else:
        del current["container_exit"]
    store.write_json(host.faults_path, current)
    return code
