"""`uninstall`: undo the steps in reverse order with the same restart discipline.

calico-node is stopped, then the CNI files are put back as they were (agent restart, exit 75,
verified on the next run), then Docker's previous cluster-store setting is restored (exactly
the original daemon.json bytes when nothing else changed since). Last, the installer's state
directory is removed, so the host's files are as before the install.
"""

import logging
import os
from typing import Any, Dict, Optional

from installer import dockerconf, fsutil
from installer.host import Host
from installer.result import OK, Outcome
from installer.services import Timing, Unit
from installer.steps import docker, node
from installer.steps.cni import CniSteps
from installer.steps.daemon_change import STEP, DaemonJsonChange, in_progress

log = logging.getLogger("calico-installer")


def _original_target(host: Host, record: Dict[str, Any], path: str):
    """target(current bytes) -> the bytes daemon.json (host path `path`) should hold once
    we are uninstalled."""
    original = record.get("original") or {}
    original_bytes = host.journal.load_backup(STEP, docker.ORIGINAL_COPY)

    def target(base: Optional[bytes]) -> Optional[bytes]:
        settings = dockerconf.parse_daemon_json(base, path)
        restored = dockerconf.restore(settings, original.get("previous", {}))
        if original.get("existed"):
            if restored == dockerconf.parse_daemon_json(original_bytes, path):
                return original_bytes
            return dockerconf.render_daemon_json(restored)
        return dockerconf.render_daemon_json(restored) if restored else None

    return target


def undo_docker(host: Host, options: Any, timing: Timing) -> bool:
    record = host.journal.load(STEP)
    if not record:
        return False
    path = host.path(options.daemon_json)
    changed = False
    if record.get("original"):
        resuming = in_progress(record) and record.get("op") == "uninstall"
        base = record if resuming else {"op": "uninstall", "original": record["original"],
                                         "created_dirs": record.get("created_dirs", [])}
        change = DaemonJsonChange(host, Unit(host, options.docker_unit, timing), path, base)
        changed = change.run(_original_target(host, record, options.daemon_json),
                             record if resuming else None)
        change.finish("uninstalled")
    fsutil.remove_empty_dirs(record.get("created_dirs", []))
    host.journal.drop_backup(STEP, docker.ORIGINAL_COPY)
    host.journal.clear(STEP)
    return changed


def run(host: Host, options: Any) -> Outcome:
    timing = Timing(options.restart_timeout, options.stable_for, options.poll_interval)
    removed_node = False
    if host.which("docker"):
        removed_node = node.remove_container(host, options.container_name)
    pending = CniSteps(host, timing, options.agent_unit).uninstall()
    if pending is not None:
        return pending
    docker_changed = undo_docker(host, options, timing)
    host.journal.remove_if_empty()
    if os.path.isdir(host.journal.state_dir):
        log.warning("left %s in place: it holds files the installer did not write",
                    host.journal.state_dir)
    return Outcome(OK, "Calico removed from this host", changed=removed_node or docker_changed,
                   details={"calico_node_removed": removed_node,
                            "docker_restored": docker_changed})
