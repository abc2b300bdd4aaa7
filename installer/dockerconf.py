"""Docker facts and daemon.json edits: version support, key merge, unit-flag conflicts."""

import json
import re
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Tuple

from installer.errors import BadInput, HostError

CLUSTER_STORE = "cluster-store"
CLUSTER_STORE_OPTS = "cluster-store-opts"
CLUSTER_ADVERTISE = "cluster-advertise"
LIVE_RESTORE = "live-restore"
# cluster-store arrived in Docker 1.10's daemon.json support and was removed in 23.0.
FIRST_SUPPORTED = (1, 10)
FIRST_UNSUPPORTED = (23, 0)

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")
_FLAG = re.compile(r"--cluster-store(?:=|\s+)(\"[^\"]*\"|'[^']*'|[^\s\"';]+)")


def parse_version(text: str) -> Tuple[int, int, int]:
    """(major, minor, patch) of strings such as 1.13.1, 17.05.0-ce, 20.10.7+dfsg1, 24.0."""
    match = _VERSION.match(text)
    if match is None:
        raise HostError("unrecognised Docker version {!r}".format(text.strip()))
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def supports_cluster_store(version: Tuple[int, int, int]) -> bool:
    return FIRST_SUPPORTED <= version[:2] < FIRST_UNSUPPORTED


def format_version(version: Tuple[int, int, int]) -> str:
    return "{}.{}.{}".format(*version)


def parse_daemon_json(data: Optional[bytes], path: str) -> "OrderedDict[str, Any]":
    """The settings in daemon.json; an absent or blank file means no settings."""
    if data is None or not data.strip():
        return OrderedDict()
    try:
        settings = json.loads(data.decode("utf-8"), object_pairs_hook=OrderedDict)
    except (UnicodeDecodeError, ValueError) as err:
        raise BadInput("malformed {}: {}".format(path, err)) from err
    if not isinstance(settings, dict):
        raise BadInput("malformed {}: top level is not a JSON object".format(path))
    return settings


def render_daemon_json(settings: Dict[str, Any]) -> bytes:
    return (json.dumps(settings, indent=2) + "\n").encode("utf-8")


def desired_settings(cluster_store: str, store_opts: Dict[str, str],
                     advertise: Optional[str] = None,
                     live_restore: bool = False) -> Dict[str, Any]:
    """The keys the docker step sets. `cluster-advertise` goes with the store: a reload
    takes a store only when the file also sets it (moby v18.09.9 `daemon/reload.go`
    `Daemon.reloadClusterDiscovery`); None leaves it to the command line."""
    desired = OrderedDict([(CLUSTER_STORE, cluster_store)])  # type: Dict[str, Any]
    if advertise is not None:
        desired[CLUSTER_ADVERTISE] = advertise
    if store_opts:
        desired[CLUSTER_STORE_OPTS] = OrderedDict(sorted(store_opts.items()))
    if live_restore:
        desired[LIVE_RESTORE] = True
    return desired


def holds(settings: Dict[str, Any], desired: Dict[str, Any]) -> bool:
    return all(settings.get(key) == value for key, value in desired.items())


def snapshot(settings: Dict[str, Any], keys: Iterable[str]) -> Dict[str, Any]:
    """The current values of keys as {key: {"present": bool, "value": ...}}."""
    return OrderedDict(
        (key, {"present": key in settings, "value": settings.get(key)}) for key in keys
    )


def apply(settings: Dict[str, Any], desired: Dict[str, Any]) -> "OrderedDict[str, Any]":
    """settings with the desired keys set (and stale cluster-store-opts dropped); others kept."""
    merged = OrderedDict(settings)
    if CLUSTER_STORE_OPTS not in desired:
        merged.pop(CLUSTER_STORE_OPTS, None)
    merged.update(desired)
    return merged


def restore(settings: Dict[str, Any], previous: Dict[str, Any]) -> "OrderedDict[str, Any]":
    """settings with each key put back as a snapshot() recorded it."""
    restored = OrderedDict(settings)
    for key, was in previous.items():
        if was.get("present"):
            restored[key] = was.get("value")
        else:
            restored.pop(key, None)
    return restored


def has_flag(texts: Iterable[str], name: str) -> bool:
    """Whether `--name` appears as a flag in unit files or command lines."""
    pattern = re.compile(r"(?:^|\s)--" + re.escape(name) + r"(?:[=\s]|$)")
    return any(pattern.search(text) for text in texts)


def flag_values(texts: Iterable[str]) -> List[str]:
    """Values of --cluster-store flags in unit files or command lines."""
    found = []
    for text in texts:
        for match in _FLAG.finditer(text):
            found.append(match.group(1).strip("\"'"))
    return found
