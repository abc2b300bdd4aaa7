"""Read a unit's files as systemd would: fragment, drop-ins, environment, ExecStart.

The fragment is the first of /etc/systemd/system, /run/systemd/system, /usr/lib/systemd/system
and /lib/systemd/system that has `<unit>.service`; drop-ins are `<unit>.service.d/*.conf`
from the same directories, applied in file-name order. An empty `ExecStart=` resets the
command; `Environment=` and `EnvironmentFile=` (a leading `-` means optional) define
variables; in ExecStart `$VAR` expands to words and `${VAR}` to one word.
"""

from __future__ import annotations

import re
import shlex

from devcluster.host.errors import StateError
from devcluster.host.hostdir import HostDir

UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system",
             "/lib/systemd/system")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def fragment(host: HostDir, unit: str) -> str | None:
    """Host path of the unit's main file, or None when the unit has none."""
    for directory in UNIT_DIRS:
        path = f"{directory}/{unit}.service"
        if host.on_host(path).is_file():
            return path
    return None


def drop_ins(host: HostDir, unit: str) -> list[str]:
    """Host paths of the unit's drop-in files, in the order systemd applies them."""
    found: dict[str, str] = {}
    for directory in reversed(UNIT_DIRS):
        folder = host.on_host(f"{directory}/{unit}.service.d")
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name.endswith(".conf"):
                    found[entry.name] = f"{directory}/{unit}.service.d/{entry.name}"
    return [found[name] for name in sorted(found)]


def files(host: HostDir, unit: str) -> list[str]:
    main = fragment(host, unit)
    return ([main] if main else []) + drop_ins(host, unit)


def _directives(host: HostDir, unit: str) -> list[tuple[str, str]]:
    pairs = []
    for path in files(host, unit):
        for line in host.on_host(path).read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith(("#", ";")):
                pairs.append((key.strip(), value.strip()))
    return pairs


def _environment_file(host: HostDir, spec: str) -> dict[str, str]:
    optional = spec.startswith("-")
    path = host.on_host(spec.lstrip("-"))
    try:
        text = path.read_text()
    except FileNotFoundError:
        if optional:
            return {}
        raise StateError(f"environment file {spec} of the unit is missing") from None
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith(("#", ";")):
            values[key.strip()] = value.strip().strip("'\"")
    return values


def _expand(command: str, environment: dict[str, str]) -> list[str]:
    words = []
    for word in shlex.split(command):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            words += environment.get(whole.group(1), "").split()
        else:
            words.append(VARIABLE.sub(
                lambda m: environment.get(m.group(1) or m.group(2), ""), word))
    return words


def exec_start(host: HostDir, unit: str, expand: bool = True) -> list[str]:
    """The unit's effective ExecStart as an argument list ([] when none).

    expand=False gives the words as written (what `systemctl show` prints); expanding reads
    the environment files, as starting the unit does.
    """
    environment: dict[str, str] = {}
    command = ""
    try:
        for key, value in _directives(host, unit):
            if key == "Environment" and expand:
                for assignment in shlex.split(value):
                    name, _, setting = assignment.partition("=")
                    environment[name] = setting
            elif key == "EnvironmentFile" and expand:
                environment.update(_environment_file(host, value))
            elif key == "ExecStart":
                command = value.lstrip("-@+!:")
        return _expand(command, environment) if expand else shlex.split(command)
    except ValueError as exc:
        raise StateError(f"unit {unit}: cannot parse its ExecStart: {exc}") from exc


def exec_reload(host: HostDir, unit: str) -> str:
    """The unit's effective ExecReload as written ("" when none, or reset by an empty one:
    systemd `src/core/load-fragment.c` `config_parse_exec`, an empty assignment resets the
    command list, as systemd.service(5) says of the Exec*= settings)."""
    command = ""
    for key, value in _directives(host, unit):
        if key == "ExecReload":
            command = value
    return command
