"""`docker`: set Docker's cluster-store in daemon.json where the Docker version supports it."""

import logging
import os
from typing import Any, Dict, List, Optional

from installer import dockerconf, fsutil
from installer.errors import BadInput, HostError
from installer.host import Host
from installer.result import OK, SKIPPED, Outcome
from installer.services import Timing, Unit
from installer.steps.daemon_change import STEP, DaemonJsonChange, in_progress

DAEMON_JSON = "/etc/docker/daemon.json"
DOCKER_UNIT = "docker"
ORIGINAL_COPY = "daemon.json.original"
UNIT_FILE_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system",
                  "/lib/systemd/system")
ENV_FILES = ("/etc/sysconfig/docker", "/etc/default/docker")

log = logging.getLogger("calico-installer")


def server_version(host: Host) -> tuple:
    output = host.check(["docker", "version", "--format", "{{.Server.Version}}"])
    return dockerconf.parse_version(output)


def live_cluster_store(host: Host) -> str:
    """The cluster-store the running Docker uses, from `docker info` ("" when none)."""
    for line in host.check(["docker", "info"]).splitlines():
        name, sep, value = line.strip().partition(":")
        if sep and name == "Cluster Store":
            return value.strip()
    return ""


def unit_texts(host: Host, unit: str) -> List[str]:
    """Docker's command line as systemd shows it, plus the unit file, its drop-ins and
    Docker's environment files as far as they exist (older systemd shows less)."""
    paths = []
    for directory in UNIT_FILE_DIRS:
        paths.append(os.path.join(directory, unit + ".service"))
        dropins = host.path(os.path.join(directory, unit + ".service.d"))
        if os.path.isdir(dropins):
            paths += [os.path.join(directory, unit + ".service.d", name)
                      for name in sorted(os.listdir(dropins)) if name.endswith(".conf")]
    paths += list(ENV_FILES)
    shown = host.run(["systemctl", "show", "-p", "ExecStart", unit])
    texts = [shown.stdout] if shown.returncode == 0 else []
    for path in paths:
        data = fsutil.read_bytes(host.path(path))
        if data is not None:
            texts.append(data.decode("utf-8", "replace"))
    return texts


def base_record(previous: Optional[Dict[str, Any]], desired: Dict[str, Any]) -> Dict[str, Any]:
    """The fields that survive every change: what to put back on uninstall, what we created."""
    record = {"op": "install", "target": desired}  # type: Dict[str, Any]
    for key in ("original", "created_dirs"):
        if previous and key in previous:
            record[key] = previous[key]
    return record


def run(host: Host, options: Any) -> Outcome:
    timing = Timing(options.restart_timeout, options.stable_for, options.poll_interval)
    unit = Unit(host, options.docker_unit, timing)
    path = host.path(options.daemon_json)
    desired = dockerconf.desired_settings(options.cluster_store, options.cluster_store_opt)
    previous = host.journal.load(STEP)
    resuming = in_progress(previous)
    stale = False
    details = {"daemon_json": options.daemon_json, "cluster_store": options.cluster_store}

    if not resuming:
        version = server_version(host)
        details["docker_version"] = dockerconf.format_version(version)
        if not dockerconf.supports_cluster_store(version):
            return Outcome(SKIPPED, "skipped: Docker {} does not support cluster-store (only "
                           "1.10 <= version < 23.0)".format(details["docker_version"]),
                           details=details)
        flags = sorted(set(dockerconf.flag_values(unit_texts(host, options.docker_unit))))
        if flags:
            if flags == [options.cluster_store] and not options.cluster_store_opt:
                return Outcome(OK, "cluster-store already set to {} on the {} command line"
                               .format(options.cluster_store, options.docker_unit),
                               details=details)
            raise BadInput("the {} unit sets --cluster-store={} on its command line; remove "
                           "it so daemon.json can set {}".format(
                               options.docker_unit, flags[0], options.cluster_store))
        current = fsutil.read_bytes(path)
        settings = dockerconf.parse_daemon_json(current, options.daemon_json)
        if dockerconf.holds(settings, desired):
            if not unit.is_active():
                raise HostError("{} is not active".format(options.docker_unit))
            live = live_cluster_store(host)
            if live == options.cluster_store:
                return Outcome(OK, "cluster-store already set to {}".format(
                    options.cluster_store), details=details)
            log.info("daemon.json holds the cluster-store but Docker runs with %r; restarting",
                     live)
            stale = True
        fsutil.check_writable_dir(os.path.dirname(path))
        fsutil.check_writable_dir(host.journal.state_dir)
        previous = _remember_original(host, previous, current, settings, desired)

    def target(base: Optional[bytes]) -> Optional[bytes]:
        settings = dockerconf.parse_daemon_json(base, options.daemon_json)
        return dockerconf.render_daemon_json(dockerconf.apply(settings, desired))

    if resuming:
        record = dict(previous, target=desired, op="install")
    else:
        record = base_record(previous, desired)
    change = DaemonJsonChange(host, unit, path, record)
    changed = change.run(target, previous if resuming else None, restart_anyway=stale)
    settings = dockerconf.parse_daemon_json(fsutil.read_bytes(path), options.daemon_json)
    live = live_cluster_store(host)
    if not dockerconf.holds(settings, desired) or live != options.cluster_store:
        raise HostError("Docker is active but runs with cluster-store {!r}, not {}".format(
            live, options.cluster_store))
    change.finish("done")
    log.info("Docker uses cluster-store %s", options.cluster_store)
    return Outcome(OK, "cluster-store set to {}; Docker restarted and stable".format(
        options.cluster_store), changed=changed, details=details)


def _remember_original(host: Host, previous: Optional[Dict[str, Any]],
                       current: Optional[bytes], settings: Dict[str, Any],
                       desired: Dict[str, Any]) -> Dict[str, Any]:
    """Keep the state before the first install, so uninstall can put it back exactly."""
    record = dict(previous or {})
    if "original" in record:
        return record
    keys = list(desired) + [k for k in (dockerconf.CLUSTER_STORE_OPTS,) if k not in desired]
    if current is not None:
        host.journal.save_backup(STEP, ORIGINAL_COPY, current)
    record["original"] = {"existed": current is not None,
                          "previous": dockerconf.snapshot(settings, keys)}
    return record
