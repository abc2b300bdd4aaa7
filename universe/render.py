"""Render the Marathon app the way Cosmos does at `dcos package install`.

Cosmos takes the defaults of config.json, deep-merges the user's options over them,
validates the result against config.json, and renders marathon.json.mustache with the
options plus `resource` (resource.json) as the context. String values are JSON-escaped
(never HTML-escaped), booleans render as `true`/`false`, and the result must be a JSON
object whose labels are all strings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import chevron
from jsonschema import Draft4Validator

from universe.errors import OptionsInvalidError, RenderError

# `{{name}}` variable tags (not sections, inverses, comments, partials or raw tags).
_VARIABLE_TAG = re.compile(r"{{(?![#^/!>&{=])\s*([^}]+?)\s*}}")


class JsonBool:
    """A boolean that renders as JSON (`true`/`false`) and keeps mustache section truth."""

    _CHEVRON_return_scope_when_falsy = True

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __str__(self) -> str:
        return "true" if self.value else "false"


def schema_defaults(schema: Mapping[str, Any]) -> Any:
    """The options an empty install gets: every property's default, objects recursed."""
    if schema.get("type") == "object" and "properties" in schema:
        found = {}
        for name, prop in schema["properties"].items():
            value = schema_defaults(prop)
            if value is not None:
                found[name] = value
        return found
    return copy.deepcopy(schema.get("default"))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_options(config_schema: Mapping[str, Any], options: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """Defaults merged with `options`, validated like Cosmos; raises OptionsInvalidError."""
    merged = deep_merge(schema_defaults(config_schema), options)
    errors = sorted(Draft4Validator(config_schema).iter_errors(merged),
                    key=lambda e: list(e.path))
    if errors:
        raise OptionsInvalidError([
            f"/{'/'.join(str(p) for p in error.path)}: {error.message} "
            f"(keyword {error.validator})" for error in errors])
    return merged


def _json_context(value: Any) -> Any:
    if isinstance(value, bool):
        return JsonBool(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if isinstance(value, Mapping):
        return {key: _json_context(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_context(item) for item in value]
    return value


def render_template(template: str, options: Mapping[str, Any],
                    resource: Mapping[str, Any]) -> str:
    """The raw text Cosmos would produce from the template (not yet parsed)."""
    unescaped = _VARIABLE_TAG.sub(r"{{&\1}}", template)
    context = _json_context({**options, "resource": resource})
    return chevron.render(unescaped, context)


def render_app(template: str, config_schema: Mapping[str, Any], resource: Mapping[str, Any],
               options: Mapping[str, Any]) -> dict[str, Any]:
    """The Marathon app for `options`; raises OptionsInvalidError or RenderError."""
    resolved = resolve_options(config_schema, options)
    text = render_template(template, resolved, resource)
    try:
        app = json.loads(text)
    except json.JSONDecodeError as err:
        raise RenderError(f"rendered marathon.json is not JSON: {err}") from None
    if not isinstance(app, dict):
        raise RenderError("rendered marathon.json is not a JSON object")
    labels = app.get("labels", {})
    bad = sorted(key for key, value in labels.items() if not isinstance(value, str))
    if bad:
        raise RenderError(f"label values must be strings: {', '.join(bad)}")
    return app
