"""The real Universe and Marathon JSON schemas, loaded from the project's reference data.

Universe's CI validates with draft-4 semantics (`Draft4Validator`); so do we. The v3/v4/v5
repo schemas refer to `vX-repo-definitions.json` by relative file name, so that file is
registered under exactly that URI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from universe.errors import SchemaNotFoundError

# Verbatim copies with their sources and licences: tests/data/reference/SOURCES.md.
DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference"
REPO_DEFINITIONS = "vX-repo-definitions.json"
REPO_SCHEMA_VERSIONS = ("v3", "v4", "v5")
# Marathon releases whose app schema the rendered app must satisfy: DC/OS 1.12 (1.7.236,
# also byte-identical to DC/OS 1.11's 1.6.585) and DC/OS 1.10 (1.5.15).
MARATHON_SCHEMAS = {"1.7.236": "AppDefinition.json", "1.5.15": "v1.5.15/AppDefinition.json"}


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _validator(schema: dict[str, Any], registry: Registry | None = None) -> Draft4Validator:
    if registry is None:
        return Draft4Validator(schema)
    return Draft4Validator(schema, registry=registry)


@dataclass(frozen=True)
class Schemas:
    package: Draft4Validator
    config_meta: Draft4Validator
    resource: Draft4Validator
    repo: dict[str, Draft4Validator]  # by media version: v3, v4, v5
    marathon: dict[str, Draft4Validator]  # by Marathon release


def reference_dir(explicit: Path | None = None) -> Path:
    """The reference directory: `explicit`, else the project's `tests/data/reference/`."""
    path = (explicit or DEFAULT_REFERENCE_DIR).resolve()
    if not (path / "universe-schema" / "package-schema.json").is_file():
        raise SchemaNotFoundError(
            f"reference schemas not found under {path}; pass --reference DIR pointing at "
            "a directory with universe-schema/ and marathon-schema/ (tests/data/reference/ in "
            "the project)")
    return path


def load_schemas(reference: Path) -> Schemas:
    universe = reference / "universe-schema"
    marathon = reference / "marathon-schema"
    definitions = Resource.from_contents(_load(universe / REPO_DEFINITIONS),
                                         default_specification=DRAFT4)
    registry = Registry().with_resource(REPO_DEFINITIONS, definitions)
    return Schemas(
        package=_validator(_load(universe / "package-schema.json")),
        config_meta=_validator(_load(universe / "config-schema.json")),
        resource=_validator(_load(universe / "v3-resource-schema.json")),
        repo={version: _validator(_load(universe / f"{version}-repo-schema.json"), registry)
              for version in REPO_SCHEMA_VERSIONS},
        marathon={release: _validator(_load(marathon / name))
                  for release, name in MARATHON_SCHEMAS.items()},
    )


def problems(validator: Draft4Validator, instance: Any, what: str) -> list[str]:
    """Every schema violation, one line each, naming the JSON pointer of the bad field.

    For `oneOf` (package.json's packaging versions) the branch with the fewest violations is
    the one the author meant, so its violations are reported instead of the bare mismatch.
    """
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path)):
        for leaf in _closest(error):
            pointer = "/" + "/".join(str(part) for part in leaf.path)
            found.append(f"{what} {pointer}: {leaf.message}")
    return found


def _closest(error: ValidationError) -> list[ValidationError]:
    if error.validator != "oneOf" or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    best = min(branches.values(), key=len)
    return [leaf for sub in best for leaf in _closest(sub)]
