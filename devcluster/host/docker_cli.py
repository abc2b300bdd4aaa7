"""The `docker` stand-in: version, info, run, ps, inspect, stop, kill, rm, pull, wait, logs,
network.

Messages and exit codes follow the real CLI: every command that needs the daemon fails with
"Cannot connect to the Docker daemon ..." while the docker unit is not active (exit 125 for
`run`, 1 otherwise). A foreground `run` is a real process that lasts as long as the
container: it exits with the container's status when it is stopped, killed, removed or the
daemon stops, and SIGTERM/SIGINT to it stop the container (docker's signal proxy).
A `calico/node` container runs that image's startup first (devcluster/host/calico_node.py),
then BIRD and the libnetwork plugin (devcluster/host/node_daemons.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from typing import TYPE_CHECKING

from devcluster.host import containers, dockerd, faults, gotemplate, units
from devcluster.host.errors import HostError
from devcluster.host.hostdir import DOCKER_UNIT, HostDir

if TYPE_CHECKING:
    from devcluster.host import node_daemons

# Each calico-node health check runs `docker inspect`, every 10 s on every host: the modules
# of calico/node and of networks (etcd and HTTP clients, namespaces) are imported only by
# the commands that use them, so that a check starts in a fraction of the time.

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_RUN_ERROR = 125
FOLLOW_POLL_S = 0.2
HANG_POLL_S = 0.1
NO_DAEMON = ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
             "Is the docker daemon running?")
RUN_VALUE_FLAGS = frozenset({
    "--name", "--restart", "-e", "--env", "-v", "--volume", "--net", "--network", "--pid",
    "--ipc", "--uts", "--log-driver", "--log-opt", "--entrypoint", "-l", "--label", "-u",
    "--user", "-w", "--workdir", "-h", "--hostname", "--stop-timeout", "--cap-add",
    "--cap-drop", "--mount", "-m", "--memory", "--cpus", "--env-file", "--add-host",
    "--device", "--dns", "--cgroupns", "--security-opt", "--ulimit", "--stop-signal", "-p",
    "--publish",
})
RUN_BOOL_FLAGS = frozenset({"-d", "--detach", "--rm", "--privileged", "-i", "--interactive",
                            "-t", "--tty", "--init", "--read-only"})
RESTART_POLICY = re.compile(r"^(no|always|unless-stopped|on-failure)(?::(\d+))?$")
CONTAINER_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class CliError(HostError):
    """A docker command failed; str() is the message, .code the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _daemon_active(host: HostDir) -> bool:
    """Settle the docker unit (applying due jobs and crashes) and say whether it is up."""
    now = time.time()
    return units.active_state(units.settle(host, DOCKER_UNIT, now), now) == units.ACTIVE


def _require_daemon(host: HostDir, code: int = EXIT_ERROR) -> None:
    if not _daemon_active(host):
        raise CliError(NO_DAEMON if code == EXIT_ERROR else f"docker: {NO_DAEMON}.", code)


def _version_data(host: HostDir) -> dict:
    version = host.spec["docker_version"]
    details = {"Version": version, "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64",
               "GitCommit": "devcluster"}
    return {"Client": dict(details), "Server": dict(details)}


def cmd_version(host: HostDir, args: list[str]) -> int:
    template = _format_option(args)
    data = _version_data(host)
    with host.locked():
        active = _daemon_active(host)
    if template is not None:
        if not active:
            raise CliError(NO_DAEMON)
        print(gotemplate.render(template, data))
        return EXIT_OK
    client = data["Client"]
    print(f"Client:\n Version:           {client['Version']}\n API version:       "
          f"{client['ApiVersion']}\n OS/Arch:           linux/amd64\n")
    if not active:
        raise CliError(NO_DAEMON)
    print(f"Server:\n Engine:\n  Version:          {data['Server']['Version']}\n"
          f"  API version:      {data['Server']['ApiVersion']}\n  OS/Arch:          linux/amd64")
    return EXIT_OK


def _info_data(host: HostDir) -> dict:
    unit = units.load(host, DOCKER_UNIT)
    config = unit["config"] or {}
    state = containers.load(host)
    records = list(state["containers"].values())
    running = sum(1 for record in records if record["State"]["Running"])
    data = {
        "ID": host.spec["agent_id"], "Name": host.spec["hostname"],
        "ServerVersion": host.spec["docker_version"], "Containers": len(records),
        "ContainersRunning": running, "ContainersPaused": 0,
        "ContainersStopped": len(records) - running, "Images": 0, "Driver": "overlay2",
        "DockerRootDir": config.get("data-root", "/var/lib/docker"), "OSType": "linux",
        "OperatingSystem": "DC/OS (simulated host)", "Architecture": "x86_64",
        "LiveRestoreEnabled": bool(config.get("live-restore", False)),
        "Labels": config.get("labels", []),
    }
    if dockerd.parse_version(host.spec["docker_version"]) < dockerd.CLUSTER_STORE_REMOVED:
        data["ClusterStore"] = config.get("cluster-store", "")
        data["ClusterAdvertise"] = config.get("cluster-advertise", "")
    return data


def cmd_info(host: HostDir, args: list[str]) -> int:
    template = _format_option(args)
    with host.locked():
        _require_daemon(host)
        data = _info_data(host)
    if template is not None:
        print(gotemplate.render(template, data))
        return EXIT_OK
    lines = [
        "Server:", f" Containers: {data['Containers']}", f"  Running: {data['ContainersRunning']}",
        f"  Stopped: {data['ContainersStopped']}", f" Server Version: {data['ServerVersion']}",
        f" Storage Driver: {data['Driver']}", f" Operating System: {data['OperatingSystem']}",
        f" Name: {data['Name']}", f" ID: {data['ID']}",
        f" Docker Root Dir: {data['DockerRootDir']}",
    ]
    if data.get("ClusterStore"):
        lines.append(f" Cluster Store: {data['ClusterStore']}")
    if data.get("ClusterAdvertise"):
        lines.append(f" Cluster Advertise: {data['ClusterAdvertise']}")
    lines.append(f" Live Restore Enabled: {str(data['LiveRestoreEnabled']).lower()}")
    print("\n".join(lines))
    return EXIT_OK


def _format_option(args: list[str]) -> str | None:
    """Remove and return a -f/--format value from args."""
    for index, arg in enumerate(args):
        if arg in ("-f", "--format"):
            if index + 1 >= len(args):
                raise CliError(f"flag needs an argument: {arg}")
            value = args[index + 1]
            del args[index:index + 2]
            return value
        if arg.startswith("--format="):
            del args[index]
            return arg.split("=", 1)[1]
    return None


def _split_run_args(args: list[str]) -> tuple[dict[str, list[str]], set[str], list[str]]:
    """(value flags, boolean flags, [image, command...]) of a `docker run` command line."""
    values: dict[str, list[str]] = {}
    switches: set[str] = set()
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-") or arg == "-":
            return values, switches, args[index:]
        name, sep, value = arg.partition("=")
        if name in RUN_VALUE_FLAGS:
            if not sep:
                index += 1
                if index >= len(args):
                    raise CliError(f"flag needs an argument: {name}", EXIT_RUN_ERROR)
                value = args[index]
            values.setdefault(name.lstrip("-"), []).append(value)
        elif name in RUN_BOOL_FLAGS:
            if not sep or value.lower() == "true":
                switches.add(name)
        elif re.match(r"^-[a-z]{2,}$", arg) and all(f"-{c}" in RUN_BOOL_FLAGS for c in arg[1:]):
            switches.update(f"-{c}" for c in arg[1:])
        else:
            raise CliError(f"unknown flag: {name}\nSee 'docker run --help'.", EXIT_RUN_ERROR)
        index += 1
    return values, switches, []


def _last(values: dict[str, list[str]], *names: str, default: str = "") -> str:
    found = [value for name in names for value in values.get(name, [])]
    return found[-1] if found else default


def _env_list(values: dict[str, list[str]]) -> list[str]:
    env = []
    for item in values.get("e", []) + values.get("env", []):
        if "=" in item:
            env.append(item)
        elif item in os.environ:
            env.append(f"{item}={os.environ[item]}")
    return env


def _pull_refused(host: HostDir, image: str) -> bool:
    return image in (faults.get_faults(host.root).get("missing_images") or [])


def cmd_run(host: HostDir, args: list[str]) -> int:
    values, switches, rest = _split_run_args(args)
    if not rest:
        raise CliError("docker: \"run\" requires at least 1 argument.\n"
                       "See 'docker run --help'.", EXIT_RUN_ERROR)
    image, command = rest[0], rest[1:]
    policy = _last(values, "restart", default="no")
    matched = RESTART_POLICY.match(policy)
    if matched is None:
        raise CliError(f"docker: invalid restart policy: unknown policy '{policy}'; use one of "
                       "'no', 'always', 'on-failure', or 'unless-stopped'.", EXIT_RUN_ERROR)
    auto_remove = "--rm" in switches
    if auto_remove and matched.group(1) != "no":
        raise CliError("docker: Conflicting options: --restart and --rm.", EXIT_RUN_ERROR)
    name = _last(values, "name") or f"devcluster_{os.urandom(4).hex()}"
    if not CONTAINER_NAME.match(name):
        raise CliError(f"docker: Error response from daemon: Invalid container name ({name}), "
                       "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.", EXIT_RUN_ERROR)
    name = name.lstrip("/")
    detach = bool(switches & {"-d", "--detach"})
    with host.locked():
        _require_daemon(host, EXIT_RUN_ERROR)
        if _pull_refused(host, image):
            raise CliError(f"Unable to find image '{image}' locally\ndocker: Error response "
                           f"from daemon: pull access denied for {image}, repository does not "
                           "exist or may require 'docker login'.\nSee 'docker run --help'.",
                           EXIT_RUN_ERROR)
        state = containers.load(host)
        existing = containers.find(state, name)
        if existing is not None and containers.name_of(state["containers"][existing]) == name:
            raise CliError(f"docker: Error response from daemon: Conflict. The container name "
                           f"\"/{name}\" is already in use by container \"{existing}\". You "
                           "have to remove (or rename) that container to be able to reuse that "
                           "name.\nSee 'docker run --help'.", EXIT_RUN_ERROR)
        record = containers.create(
            state, name=name, image=image, args=command, env=_env_list(values),
            binds=values.get("v", []) + values.get("volume", []),
            network=_last(values, "net", "network", default="default"),
            restart=matched.group(1), max_retries=int(matched.group(2) or 0),
            auto_remove=auto_remove, privileged="--privileged" in switches,
            hostname=_last(values, "h", "hostname", default=host.spec["hostname"]),
            pid=0 if detach else os.getpid(), now=time.time())
        containers.save(host, state)
    services = None
    from devcluster.host import calico_node

    if calico_node.is_calico_node(image):
        services = _start_calico_node(host, record, detach)
    if detach:
        print(record["Id"])
        return EXIT_OK
    try:
        return follow(host, record["Id"], proxy_signals=True, services=services)
    finally:
        if services is not None:
            services.close()


def _start_calico_node(host: HostDir, record: dict,
                       detach: bool) -> node_daemons.Services | None:
    """The image's startup, from the host's network namespace; when it terminates, the
    container exits with its status and its log line is what `docker run` prints. Then
    BIRD and libnetwork (rc.local enables them once startup succeeded): served by this
    foreground `docker run`, or by a process of their own for a detached container."""
    from devcluster import netns
    from devcluster.host import calico_node, node_daemons

    env = dict(item.split("=", 1) for item in record["Config"]["Env"])
    try:
        with netns.entered(host.spec.get("netns")):
            calico_node.start(env, record["HostConfig"]["Binds"], host.spec["ip"],
                              host.spec["hostname"])
            if detach:
                node_daemons.spawn(host, record["Id"])
                return None
            return node_daemons.Services(host, record["Id"], env)
    except calico_node.StartupFailed as err:
        print(f"calico/node startup: {err}\nTerminating", file=sys.stderr, flush=True)
        with host.locked():
            state = containers.load(host)
            if record["Id"] in state["containers"]:
                containers.stop(state, record["Id"], calico_node.EXIT_TERMINATED, time.time())
                containers.save(host, state)
        return None


def follow(host: HostDir, cid: str, proxy_signals: bool,
           services: node_daemons.Services | None = None) -> int:
    """Block until container cid is no longer running; its exit status. `services`: the
    container's calico/node services, served meanwhile."""
    received: list[int] = []
    if proxy_signals:
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda number, frame: received.append(number))
    while True:
        with host.locked():
            _daemon_active(host)
            state = containers.load(host)
            now = time.time()
            changed = containers.apply_exit_faults(host, state, now)
            record = state["containers"].get(cid)
            if received and record is not None and record["State"]["Running"]:
                containers.stop(state, cid, containers.STOP_EXIT_CODE, now)
                changed = True
                record = state["containers"].get(cid)
            code = None
            if record is None:
                code = state["exit_codes"].pop(cid, containers.KILL_EXIT_CODE)
                changed = True
            elif not record["State"]["Running"]:
                code = record["State"]["ExitCode"]
            if changed:
                containers.save(host, state)
        if code is not None:
            return code
        if services is not None:
            services.serve(FOLLOW_POLL_S)
        else:
            time.sleep(FOLLOW_POLL_S)


def _resolve(state: dict, ref: str, message: str) -> str:
    cid = containers.find(state, ref)
    if cid is None:
        raise CliError(message.format(ref=ref))
    return cid


def _each(host: HostDir, refs: list[str], verb: str, act) -> int:
    """Apply act(state, cid, now) to each named container, reporting like the real CLI."""
    if not refs:
        raise CliError(f"\"docker {verb}\" requires at least 1 argument.")
    failures = []
    with host.locked():
        _require_daemon(host)
        state = containers.load(host)
        now = time.time()
        containers.apply_exit_faults(host, state, now)
        for ref in refs:
            try:
                act(state, _resolve(state, ref, "No such container: {ref}"), now)
                print(ref)
            except CliError as exc:
                failures.append(str(exc))
        containers.save(host, state)
    for failure in failures:
        print(f"Error response from daemon: {failure}", file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


def cmd_stop(host: HostDir, args: list[str]) -> int:
    refs = _drop_value_flags(args, ("-t", "--time", "-s", "--signal"))

    def stop(state: dict, cid: str, now: float) -> None:
        containers.stop(state, cid, containers.STOP_EXIT_CODE, now)

    return _each(host, refs, "stop", stop)


def cmd_kill(host: HostDir, args: list[str]) -> int:
    refs = _drop_value_flags(args, ("-s", "--signal"))

    def kill(state: dict, cid: str, now: float) -> None:
        if not state["containers"][cid]["State"]["Running"]:
            raise CliError(f"Cannot kill container: {cid}: container {cid} is not running")
        containers.stop(state, cid, containers.KILL_EXIT_CODE, now)

    return _each(host, refs, "kill", kill)


def cmd_rm(host: HostDir, args: list[str]) -> int:
    force = any(arg in ("-f", "--force") or re.match(r"^-[fv]+$", arg) and "f" in arg
                for arg in args)
    refs = [arg for arg in args if not arg.startswith("-")]
    if not refs:
        raise CliError("\"docker rm\" requires at least 1 argument.")
    tolerate_missing = force and dockerd.parse_version(host.spec["docker_version"]) >= (23, 0, 0)
    failures = []
    with host.locked():
        _require_daemon(host)
        state = containers.load(host)
        now = time.time()
        for ref in refs:
            cid = containers.find(state, ref)
            if cid is None:
                if not tolerate_missing:
                    failures.append(f"Error: No such container: {ref}")
                continue
            if state["containers"][cid]["State"]["Running"]:
                if not force:
                    failures.append(
                        f"Error response from daemon: You cannot remove a running container "
                        f"{cid}. Stop the container before attempting removal or force remove")
                    continue
                containers.kill_and_remove(state, cid, now)
            else:
                containers.remove(state, cid)
            print(ref)
        containers.save(host, state)
    for failure in failures:
        print(failure, file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


def _drop_value_flags(args: list[str], names: tuple[str, ...]) -> list[str]:
    refs, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not arg.startswith("-"):
            refs.append(arg)
    return refs


def _human_duration(seconds: float) -> str:
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    if seconds < 120:
        return "About a minute"
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes"
    if seconds < 7200:
        return "About an hour"
    if seconds < 172800:
        return f"{int(seconds // 3600)} hours"
    return f"{int(seconds // 86400)} days"


def _ps_row(record: dict, now: float, no_trunc: bool) -> dict:
    state = record["State"]
    if state["Running"]:
        status = f"Up {_human_duration(now - containers.started(record))}"
    else:
        ago = _human_duration(now - (containers.finished(record) or now))
        status = f"Exited ({state['ExitCode']}) {ago} ago"
    command = " ".join([record["Path"], *record["Args"]]).strip()
    return {
        "ID": record["Id"] if no_trunc else record["Id"][:12],
        "Image": record["Config"]["Image"],
        "Command": json.dumps(command if no_trunc else command[:20]),
        "CreatedAt": record["Created"],
        "Status": status,
        "State": state["Status"],
        "Names": containers.name_of(record),
        "Ports": "",
        "Labels": "",
    }


def _ps_filter(record: dict, key: str, value: str) -> bool:
    if key == "name":
        name = containers.name_of(record)
        return re.search(value, name) is not None or re.search(value, "/" + name) is not None
    if key == "status":
        return record["State"]["Status"] == value
    if key == "id":
        return record["Id"].startswith(value)
    if key == "ancestor":
        return record["Config"]["Image"] == value
    raise CliError(f"Error response from daemon: invalid filter '{key}'")


def cmd_ps(host: HostDir, args: list[str]) -> int:
    template = _format_option(args)
    show_all = quiet = no_trunc = False
    filters: list[tuple[str, str]] = []
    items = iter(args)
    for arg in items:
        if arg in ("-a", "--all"):
            show_all = True
        elif arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--no-trunc":
            no_trunc = True
        elif arg in ("-aq", "-qa"):
            show_all = quiet = True
        elif arg == "--filter" or arg.startswith("--filter="):
            spec = arg.split("=", 1)[1] if "=" in arg else next(items, "")
            key, sep, value = spec.partition("=")
            if not sep:
                raise CliError(f"bad format of filter (expected name=value): {spec}")
            filters.append((key, value))
        else:
            raise CliError(f"unknown flag: {arg}\nSee 'docker ps --help'.")
    with host.locked():
        _require_daemon(host)
        state = containers.load(host)
        now = time.time()
        if containers.apply_exit_faults(host, state, now):
            containers.save(host, state)
    rows = [
        _ps_row(record, now, no_trunc) for record in state["containers"].values()
        if (show_all or record["State"]["Running"])
        and all(_ps_filter(record, key, value) for key, value in filters)
    ]
    if quiet:
        template = "{{.ID}}"
    if template is not None:
        template = template.removeprefix("table ").replace("\\t", "\t")
        for row in rows:
            print(gotemplate.render(template, row))
        return EXIT_OK
    print(f"{'CONTAINER ID':<15}{'IMAGE':<25}{'COMMAND':<23}{'STATUS':<30}NAMES")
    for row in rows:
        print(f"{row['ID']:<15}{row['Image']:<25}{row['Command']:<23}{row['Status']:<30}"
              f"{row['Names']}")
    return EXIT_OK


def cmd_inspect(host: HostDir, args: list[str]) -> int:
    template = _format_option(args)
    refs = _drop_value_flags(args, ("--type",))
    if not refs:
        raise CliError("\"docker inspect\" requires at least 1 argument.")
    with host.locked():
        _require_daemon(host)
        state = containers.load(host)
        if containers.apply_exit_faults(host, state, time.time()):
            containers.save(host, state)
    found, missing = [], []
    for ref in refs:
        cid = containers.find(state, ref)
        if cid is None:
            missing.append(ref)
        else:
            found.append(containers.public_view(state["containers"][cid]))
    gotemplate.print_inspected(found, template)
    for ref in missing:
        print(f"Error: No such object: {ref}", file=sys.stderr)
    return EXIT_ERROR if missing else EXIT_OK


def cmd_pull(host: HostDir, args: list[str]) -> int:
    refs = [arg for arg in args if not arg.startswith("-")]
    if len(refs) != 1:
        raise CliError("\"docker pull\" requires exactly 1 argument.")
    image = refs[0]
    with host.locked():
        _require_daemon(host)
        refused = _pull_refused(host, image)
    if refused:
        raise CliError(f"Error response from daemon: pull access denied for {image}, "
                       "repository does not exist or may require 'docker login'")
    print(f"Status: Image is up to date for {image}")
    return EXIT_OK


def cmd_wait(host: HostDir, args: list[str]) -> int:
    if not args:
        raise CliError("\"docker wait\" requires at least 1 argument.")
    with host.locked():
        _require_daemon(host)
        cids = [_resolve(containers.load(host), ref,
                         "Error response from daemon: No such container: {ref}") for ref in args]
    for cid in cids:
        print(follow(host, cid, proxy_signals=False))
    return EXIT_OK


def cmd_logs(host: HostDir, args: list[str]) -> int:
    refs = [arg for arg in args if not arg.startswith("-")]
    if len(refs) != 1:
        raise CliError("\"docker logs\" requires exactly 1 argument.")
    with host.locked():
        _require_daemon(host)
        _resolve(containers.load(host), refs[0],
                 "Error response from daemon: No such container: {ref}")
    return EXIT_OK


def cmd_network(host: HostDir, args: list[str]) -> int:
    """`docker network create | rm | ls | inspect` (devcluster/host/docker_network.py)."""
    rest = list(args)
    template = _format_option(rest)
    with host.locked():
        _require_daemon(host)
    from devcluster.host import docker_network

    return docker_network.main(host, rest, template)


COMMANDS = {
    "network": cmd_network,
    "version": cmd_version, "info": cmd_info, "run": cmd_run, "ps": cmd_ps,
    "inspect": cmd_inspect, "stop": cmd_stop, "kill": cmd_kill, "rm": cmd_rm,
    "pull": cmd_pull, "wait": cmd_wait, "logs": cmd_logs,
}


def _wait_while_hung(host: HostDir) -> None:
    """Injected `hang_docker_cli` fault: block until it is cleared."""
    while faults.get_faults(host.root).get("hang_docker_cli"):
        time.sleep(HANG_POLL_S)


def main(argv: list[str], root: str) -> int:
    host = HostDir(root)
    try:
        if argv[:1] in (["--version"], ["-v"]):
            print(f"Docker version {host.spec['docker_version']}, build devcluster")
            return EXIT_OK
        if not argv or argv[0] not in COMMANDS:
            word = argv[0] if argv else ""
            raise CliError(f"docker: '{word}' is not a docker command.\nSee 'docker --help'")
        _wait_while_hung(host)
        return COMMANDS[argv[0]](host, list(argv[1:]))
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except (HostError, OSError) as exc:
        print(f"docker: {exc}", file=sys.stderr)
        return EXIT_ERROR
