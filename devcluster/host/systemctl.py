"""The `systemctl` stand-in: start/stop/restart/is-active/show/status/cat for host units.

Local units (docker, and the agent unit of a standalone host) block like real systemctl
until their job ends (`--no-block` returns at once). The agent unit of a host with a
`control_url` lives in the master emulator: actions are POSTed there and return at once;
state is read from there.
"""

from __future__ import annotations

import sys
import time

from devcluster.host import faults, unit_control, unitfile, units
from devcluster.host.errors import HostError, UnitControlError
from devcluster.host.hostdir import HostDir, unit_name

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 1
EXIT_NOT_ACTIVE = 3
EXIT_NO_UNIT_STATUS = 4
EXIT_NO_UNIT_ACTION = 5
HANG_POLL_S = 0.1
SUB_STATES = {"active": "running", "inactive": "dead", "failed": "failed",
              "activating": "start", "deactivating": "stop"}
DESCRIPTIONS = {"docker": "Docker Application Container Engine",
                "dcos-mesos-slave": "Mesos Agent: distributed systems kernel agent",
                "dcos-mesos-slave-public": "Mesos Agent Public: distributed systems kernel "
                                           "public agent"}
DEFAULT_PROPERTIES = ("Id", "Description", "LoadState", "ActiveState", "SubState", "Result",
                      "InvocationID", "ExecStart", "FragmentPath", "DropInPaths",
                      "ActiveEnterTimestamp", "ActiveEnterTimestampMonotonic", "NRestarts",
                      "StatusText")


class Usage(Exception):
    """Bad command line; str() is the message."""


def _parse(argv: list[str]) -> tuple[str, list[str], dict]:
    options = {"no_block": False, "value": False, "quiet": False, "properties": []}
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--no-block":
            options["no_block"] = True
        elif arg == "--value":
            options["value"] = True
        elif arg in ("-q", "--quiet"):
            options["quiet"] = True
        elif arg in ("--no-pager", "--no-legend", "--full", "-l", "--system"):
            continue
        elif arg in ("-p", "--property"):
            value = next(args, None)
            if value is None:
                raise Usage(f"option '{arg}' requires an argument")
            options["properties"] += value.split(",")
        elif arg.startswith("--property="):
            options["properties"] += arg.split("=", 1)[1].split(",")
        elif arg.startswith("-p") and len(arg) > 2:
            options["properties"] += arg[2:].split(",")
        elif arg.startswith("-"):
            raise Usage(f"unrecognized option '{arg}'")
        else:
            words.append(arg)
    if not words:
        raise Usage("too few arguments")
    return words[0], [unit_name(word) for word in words[1:]], options


def _wait_while_hung(host: HostDir, unit: str) -> None:
    """Injected `hang_units` fault: block (like a stuck systemd job) until it is cleared."""
    while unit in (faults.get_faults(host.root).get("hang_units") or []):
        time.sleep(HANG_POLL_S)


def _is_remote(host: HostDir, unit: str) -> bool:
    return unit == host.agent_unit and bool(host.spec.get("control_url"))


def observe(host: HostDir, unit: str) -> dict:
    """The unit's current state: active_state, active_since (unix or None), restarts, ..."""
    if _is_remote(host, unit):
        remote = unit_control.get_state(host.spec["control_url"])
        state = remote["active_state"]
        return {"active_state": state, "active_since": remote.get("active_since"),
                "restarts": remote.get("restarts", 0),
                "result": "success" if state != "failed" else "exit-code", "reason": None}
    with host.locked():
        now = time.time()
        record = units.settle(host, unit, now)
        state = units.active_state(record, now)
    return {"active_state": state, "active_since": record["since"] if state == "active" else None,
            "restarts": record["restarts"], "result": record["result"],
            "reason": record["reason"]}


def _act(host: HostDir, unit: str, action: str, no_block: bool) -> int:
    if _is_remote(host, unit):
        unit_control.post_action(host.spec["control_url"], action)
        return EXIT_OK
    with host.locked():
        job = units.request(host, unit, action, time.time())
    if job is None or no_block:
        return EXIT_OK
    while True:
        time.sleep(max(0.0, units.job_end(job) - time.time()))
        with host.locked():
            result = units.job_result(units.settle(host, unit, time.time()), job["id"])
        if result is not None:
            break
    if result["outcome"] == "canceled":
        print(f"Job for {unit}.service canceled.", file=sys.stderr)
        return EXIT_FAILED
    if result["outcome"] == "failed":
        print(f"Job for {unit}.service failed because the control process exited with error "
              f"code.\nSee \"systemctl status {unit}.service\" and \"journalctl -xe\" for "
              "details.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _reload(host: HostDir, unit: str) -> int:
    """`systemctl reload`: runs the unit's ExecReload (docker.service's is
    `/bin/kill -s HUP $MAINPID`, moby v1.13.1 to v18.09.9
    `contrib/init/systemd/docker.service`), which makes dockerd reload daemon.json
    (devcluster/host/reload.py). Messages and exit codes are systemd's."""
    if unit not in host.units:
        print(f"Failed to reload {unit}.service: Unit {unit}.service not found.",
              file=sys.stderr)
        return EXIT_NO_UNIT_ACTION
    if _is_remote(host, unit) or not unitfile.exec_reload(host, unit):
        print(f"Failed to reload {unit}.service: Job type reload is not applicable for unit "
              f"{unit}.service.", file=sys.stderr)
        return EXIT_FAILED
    with host.locked():
        now = time.time()
        state = units.active_state(units.settle(host, unit, now), now)
        if state != "active":
            print(f"{unit}.service is not active, cannot reload.", file=sys.stderr)
            return EXIT_FAILED
        units.reload_docker(host, now)
    return EXIT_OK


def _format_time(unix_time: float | None) -> str:
    if unix_time is None:
        return ""
    return time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime(unix_time))


def _exec_start_property(argv: list[str]) -> str:
    if not argv:
        return ""
    return (f"{{ path={argv[0]} ; argv[]={' '.join(argv)} ; ignore_errors=no ; "
            "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")


def invocation_id(active_since: float | None) -> str:
    """Unique per activation, like systemd's InvocationID; empty while not active."""
    if active_since is None:
        return ""
    return f"{int(active_since * 1_000_000):032x}"


def properties(host: HostDir, unit: str) -> dict[str, str]:
    """systemctl show's properties for a unit of this host."""
    if unit not in host.units:
        return {"Id": f"{unit}.service", "LoadState": "not-found", "ActiveState": "inactive",
                "SubState": "dead", "NRestarts": "0"}
    state = observe(host, unit)
    since = state["active_since"]
    return {
        "Id": f"{unit}.service",
        "Description": DESCRIPTIONS[unit],
        "LoadState": "loaded",
        "ActiveState": state["active_state"],
        "SubState": SUB_STATES.get(state["active_state"], state["active_state"]),
        "Result": state["result"],
        "InvocationID": invocation_id(since),
        "ExecStart": _exec_start_property(unitfile.exec_start(host, unit, expand=False)),
        "FragmentPath": unitfile.fragment(host, unit) or "",
        "DropInPaths": " ".join(unitfile.drop_ins(host, unit)),
        "ActiveEnterTimestamp": _format_time(since),
        "ActiveEnterTimestampMonotonic":
            "0" if since is None else str(int(units.monotonic_of(since) * 1_000_000)),
        "NRestarts": str(state["restarts"]),
        "StatusText": state["reason"] or "",
    }


def _show(host: HostDir, unit_list: list[str], options: dict) -> int:
    for index, unit in enumerate(unit_list):
        if index:
            print()
        props = properties(host, unit)
        for name in options["properties"] or DEFAULT_PROPERTIES:
            value = props.get(name, "")
            print(value if options["value"] else f"{name}={value}")
    return EXIT_OK


def _status(host: HostDir, unit: str) -> int:
    if unit not in host.units:
        print(f"Unit {unit}.service could not be found.", file=sys.stderr)
        return EXIT_NO_UNIT_STATUS
    props = properties(host, unit)
    active = props["ActiveState"]
    print(f"● {unit}.service - {props['Description']}")
    print(f"     Loaded: loaded ({props['FragmentPath']}; enabled; vendor preset: enabled)")
    since = f" since {props['ActiveEnterTimestamp']}" if props["ActiveEnterTimestamp"] else ""
    print(f"     Active: {active} ({props['SubState']}){since}")
    if props["StatusText"]:
        print(f"   Error: {props['StatusText']}")
    return EXIT_OK if active == "active" else EXIT_NOT_ACTIVE


def _cat(host: HostDir, unit: str) -> int:
    if unit not in host.units:
        print(f"No files found for {unit}.service.", file=sys.stderr)
        return EXIT_FAILED
    for index, host_path in enumerate(unitfile.files(host, unit)):
        print(f"{chr(10) if index else ''}# {host_path}")
        sys.stdout.write(host.on_host(host_path).read_text())
    return EXIT_OK


def run(host: HostDir, command: str, unit_list: list[str], options: dict) -> int:
    for unit in unit_list:
        if unit in host.units:
            _wait_while_hung(host, unit)
    if command in ("start", "stop", "restart"):
        if not unit_list:
            raise Usage(f"{command} needs at least one unit name")
        for unit in unit_list:
            if unit not in host.units:
                print(f"Failed to {command} {unit}.service: Unit {unit}.service not found.",
                      file=sys.stderr)
                return EXIT_NO_UNIT_ACTION
            try:
                code = _act(host, unit, command, options["no_block"])
            except UnitControlError as exc:
                print(f"Failed to {command} {unit}.service: {exc}", file=sys.stderr)
                return EXIT_FAILED
            if code != EXIT_OK:
                return code
        return EXIT_OK
    if command == "reload":
        if not unit_list:
            raise Usage("reload needs at least one unit name")
        return max(_reload(host, unit) for unit in unit_list)
    if command == "is-active":
        if not unit_list:
            raise Usage("is-active needs at least one unit name")
        states = [observe(host, u)["active_state"] if u in host.units else "inactive"
                  for u in unit_list]
        if not options["quiet"]:
            print("\n".join(states))
        return EXIT_OK if "active" in states else EXIT_NOT_ACTIVE
    if command == "show":
        return _show(host, unit_list, options)
    if command == "status":
        codes = [_status(host, unit) for unit in unit_list]
        return max(codes, default=EXIT_OK)
    if command == "cat":
        codes = [_cat(host, unit) for unit in unit_list]
        return max(codes, default=EXIT_OK)
    if command == "reset-failed":
        for unit in unit_list or list(host.units):
            if unit in host.units and not _is_remote(host, unit):
                with host.locked():
                    units.reset_failed(host, unit, time.time())
        return EXIT_OK
    if command == "daemon-reload":
        return EXIT_OK
    raise Usage(f"unknown command verb {command}")


def main(argv: list[str], root: str) -> int:
    try:
        command, unit_list, options = _parse(argv)
        return run(HostDir(root), command, unit_list, options)
    except Usage as exc:
        print(f"systemctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (HostError, OSError) as exc:
        print(f"systemctl: {exc}", file=sys.stderr)
        return EXIT_FAILED
