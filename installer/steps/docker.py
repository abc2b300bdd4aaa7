"""`docker`: set Docker's cluster-store in daemon.json where the Docker version supports it.

Applied by a reload where Docker takes it live (no store before), verified, else by a
restart, which a run may do only with `--allow-restart` (without it: exit 76, nothing
changed)."""

import logging
import os
import time
from typing import Any, Callable, Dict, List, Optional

from installer import dockerconf, fsutil
from installer.addresses import agent_ip
from installer.errors import BadInput, HostError
from installer.host import Host
from installer.result import OK, SKIPPED, Outcome, needs_restart
from installer.services import Timing, Unit
from installer.steps.daemon_change import STEP, DaemonJsonChange, in_progress

DAEMON_JSON = "/etc/docker/daemon.json"
DOCKER_UNIT = "docker"
ORIGINAL_COPY = "daemon.json.original"
UNIT_FILE_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system",
                  "/lib/systemd/system")
ENV_FILES = ("/etc/sysconfig/docker", "/etc/default/docker")
RELOAD_TIMEOUT_S = 10.0
ADVERTISE_PORT = 2375
PREDEFINED_NETWORKS = ("host", "none")

log = logging.getLogger("calico-installer")


def server_version(host: Host) -> tuple:
    output = host.check(["docker", "version", "--format", "{{.Server.Version}}"])
    return dockerconf.parse_version(output)


def docker_info(host: Host) -> Dict[str, str]:
    """`docker info`'s "Name: value" lines (Cluster Store, Live Restore Enabled, ...)."""
    found = {}  # type: Dict[str, str]
    for line in host.check(["docker", "info"]).splitlines():
        name, sep, value = line.strip().partition(":")
        if sep:
            found.setdefault(name, value.strip())
    return found


def live_cluster_store(host: Host) -> str:
    """The cluster-store the running Docker uses, from `docker info` ("" when none)."""
    return docker_info(host).get("Cluster Store", "")


def reload_blocker(live_store: str, store: str, advertise_flag: bool) -> Optional[str]:
    """Why a reload cannot apply `store` to a Docker running with `live_store` (None: it
    can). A reload looks at the store only with cluster-advertise in daemon.json (moby
    v1.13.1 `daemon/daemon.go`, v17.06.2-ce to v18.09.9 `daemon/reload.go`
    `Daemon.reloadClusterDiscovery`); libnetwork takes a store by reload only when it has
    none, and a refusal is only logged, so `docker info` would show the new store all the
    same (docker/libnetwork `controller.go` `controller.ReloadConfiguration`)."""
    if live_store and live_store != store:
        return ("Docker runs with cluster-store {}; libnetwork does not change an existing "
                "store on reload".format(live_store))
    if not live_store and advertise_flag:
        return ("cluster-advertise is set on Docker's command line; a reload takes a "
                "cluster-store only with cluster-advertise in daemon.json")
    return None


def reload_problem(host: Host, options: Any) -> Optional[str]:
    """Poll until the reloaded Docker shows what was asked, and still has its `host` and
    `none` networks; None when it does, else what is missing."""
    deadline = time.monotonic() + options.reload_timeout
    while True:
        problem = _reload_shows(host, options)
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(options.poll_interval)


def _reload_shows(host: Host, options: Any) -> Optional[str]:
    info = docker_info(host)
    if info.get("Cluster Store", "") != options.cluster_store:
        return "docker info shows cluster-store {!r}".format(info.get("Cluster Store", ""))
    if options.live_restore and info.get("Live Restore Enabled") != "true":
        return "docker info shows live-restore disabled"
    names = host.check(["docker", "network", "ls", "--format", "{{.Name}}"]).split()
    missing = [name for name in PREDEFINED_NETWORKS if name not in names]
    if missing:
        return "docker network ls lacks {}".format(", ".join(missing))
    return None


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
    previous = host.journal.load(STEP)
    details = {"daemon_json": options.daemon_json, "cluster_store": options.cluster_store}
    if in_progress(previous):  # an interrupted restart or rollback: finish it
        if not options.allow_restart:
            return _needs_restart(options, "an interrupted restart of {} must be finished"
                                  .format(options.docker_unit), details)
        desired = previous["target"]
        change = DaemonJsonChange(host, unit, path, dict(previous, op="install"))
        return _restart(host, options, change, _target(options, desired), desired, previous,
                        details, "an interrupted restart")

    version = server_version(host)
    details["docker_version"] = dockerconf.format_version(version)
    if not dockerconf.supports_cluster_store(version):
        return Outcome(SKIPPED, "skipped: Docker {} does not support cluster-store (only "
                       "1.10 <= version < 23.0)".format(details["docker_version"]),
                       details=details)
    texts = unit_texts(host, options.docker_unit)
    flags = sorted(set(dockerconf.flag_values(texts)))
    if flags:
        if flags == [options.cluster_store] and not options.cluster_store_opt:
            return Outcome(OK, "cluster-store already set to {} on the {} command line"
                           .format(options.cluster_store, options.docker_unit),
                           details=details)
        raise BadInput("the {} unit sets --cluster-store={} on its command line; remove "
                       "it so daemon.json can set {}".format(
                           options.docker_unit, flags[0], options.cluster_store))
    advertise_flag = dockerconf.has_flag(texts, dockerconf.CLUSTER_ADVERTISE)
    advertise = None if advertise_flag else (
        options.cluster_advertise or "{}:{}".format(agent_ip(host, None), ADVERTISE_PORT))
    live_restore = options.live_restore and not dockerconf.has_flag(
        texts, dockerconf.LIVE_RESTORE)
    desired = dockerconf.desired_settings(options.cluster_store, options.cluster_store_opt,
                                          advertise, live_restore)
    current = fsutil.read_bytes(path)
    settings = dockerconf.parse_daemon_json(current, options.daemon_json)
    if not unit.is_active():
        reason = "{} is not active, so only a start applies daemon.json".format(
            options.docker_unit)
    else:
        # cluster-advertise only serves a reload: a Docker that runs with the store is done.
        needed = {k: v for k, v in desired.items() if k != dockerconf.CLUSTER_ADVERTISE}
        if dockerconf.holds(settings, needed) and _reload_shows(host, options) is None:
            if previous and previous.get("phase") == "reloading":
                DaemonJsonChange(host, unit, path, previous).finish("done")
            return Outcome(OK, "cluster-store already set to {}".format(
                options.cluster_store), details=details)
        reason = reload_blocker(live_cluster_store(host), options.cluster_store,
                                advertise_flag)
    fsutil.check_writable_dir(os.path.dirname(path))
    fsutil.check_writable_dir(host.journal.state_dir)
    reloading = previous is not None and previous.get("phase") == "reloading"
    if reason is not None and not options.allow_restart:
        return _needs_restart(options, reason, details)
    previous = _remember_original(host, previous, current, settings, desired)
    record = dict(previous) if reloading else base_record(previous, desired)
    record.update(target=desired, op="install")
    change = DaemonJsonChange(host, unit, path, record)
    target = _target(options, desired)
    if reason is None:
        written = change.write(target) or reloading
        problem = "systemctl reload {} failed".format(options.docker_unit)
        if change.reload():
            problem = reload_problem(host, options)
        if problem is None:
            change.finish("done")
            log.info("Docker uses cluster-store %s, applied by reload", options.cluster_store)
            return Outcome(OK, "cluster-store set to {} by a reload of {}; no restart".format(
                options.cluster_store, options.docker_unit), changed=True, details=details)
        reason = "the reload did not take effect ({})".format(problem)
        log.warning("%s", reason)
        if not options.allow_restart:
            change.put_back()
            return _needs_restart(options, reason, details)
        return _restart(host, options, change, target, desired,
                        {"phase": "written"} if written else None, details, reason)
    return _restart(host, options, change, target, desired,
                    {"phase": "written"} if reloading else None, details, reason)


def _target(options: Any, desired: Dict[str, Any]) -> Callable[[Optional[bytes]], bytes]:
    """daemon.json's new bytes from its bytes before the change: the desired keys set."""
    def target(base: Optional[bytes]) -> bytes:
        settings = dockerconf.parse_daemon_json(base, options.daemon_json)
        return dockerconf.render_daemon_json(dockerconf.apply(settings, desired))
    return target


def _needs_restart(options: Any, reason: str, details: Dict[str, Any]) -> Outcome:
    log.info("a restart of %s is needed and not allowed in this run", options.docker_unit)
    return needs_restart(options.docker_unit, reason, details)


def _restart(host: Host, options: Any, change: DaemonJsonChange, target: Any,
             desired: Dict[str, Any], resumed: Optional[Dict[str, Any]],
             details: Dict[str, Any], reason: str) -> Outcome:
    """The restart path: live-restore first (by reload) when asked, then the journaled
    restart with its rollback, then the check that Docker runs with the store. `resumed`:
    the journal record to go on from (None: back up and write first)."""
    details = dict(details, restart_reason=reason)
    if options.live_restore and resumed is None and change.unit.is_active():
        _live_restore_first(host, options, change, target)
        resumed = {"phase": "written"}
    change.run(target, resumed, restart_anyway=True)
    path = host.path(options.daemon_json)
    settings = dockerconf.parse_daemon_json(fsutil.read_bytes(path), options.daemon_json)
    live = live_cluster_store(host)
    if not dockerconf.holds(settings, desired) or live != options.cluster_store:
        raise HostError("Docker is active but runs with cluster-store {!r}, not {}".format(
            live, options.cluster_store))
    change.finish("done")
    log.info("Docker uses cluster-store %s", options.cluster_store)
    return Outcome(OK, "cluster-store set to {}; Docker restarted and stable ({})".format(
        options.cluster_store, reason), changed=True, details=details)


def _live_restore_first(host: Host, options: Any, change: DaemonJsonChange,
                        target: Any) -> None:
    """Write the file (it holds live-restore) and reload, so the restart that follows
    keeps the containers: live-restore is reloadable on every version (moby v1.13.1
    `daemon/daemon.go` `Daemon.Reload`, v17.06.2-ce to v18.09.9 `daemon/reload.go`
    `Daemon.reloadLiveRestore`)."""
    change.write(target, force=True)
    if change.reload() and docker_info(host).get("Live Restore Enabled") == "true":
        log.info("live-restore enabled by reload; containers keep running across the restart")
    else:
        log.warning("live-restore did not take effect by reload; the restart stops containers")


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
