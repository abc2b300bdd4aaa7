"""The subset of Go templates that `docker --format` callers use: {{.A.B}} and {{json .A}}.

Missing keys print `<no value>`, as Go does for maps.
"""

from __future__ import annotations

import json
import re

from devcluster.host.errors import HostError

ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
FIELD_PATH = re.compile(r"^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?$")
MISSING = object()


class TemplateError(HostError):
    """A --format template this stand-in cannot evaluate."""


def _lookup(value: object, path: str) -> object:
    for key in filter(None, path.split(".")):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def _go_text(value: object) -> str:
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _evaluate(expression: str, data: object) -> str:
    words = expression.split()
    if len(words) == 2 and words[0] == "json" and FIELD_PATH.match(words[1]):
        value = _lookup(data, words[1])
        return "null" if value is MISSING else json.dumps(value, separators=(",", ":"))
    if len(words) == 1 and FIELD_PATH.match(words[0]):
        return _go_text(_lookup(data, words[0]))
    raise TemplateError(f'template parsing error: unsupported action "{{{{{expression}}}}}"')


def render(template: str, data: object) -> str:
    """template with every {{...}} action evaluated against data."""
    return ACTION.sub(lambda match: _evaluate(match.group(1), data), template)


def print_inspected(objects: list[dict], template: str | None) -> None:
    """What `docker inspect` and `docker network inspect` print for the objects found: each
    through `--format` when given, else one indented JSON array."""
    if template is not None:
        for item in objects:
            print(render(template, item))
    else:
        print(json.dumps(objects, indent=4))
