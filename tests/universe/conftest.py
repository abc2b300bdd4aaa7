"""Fixtures for the Universe package tests: the shared reference schemas and the package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from universe import build
from universe.schemas import load_schemas

# CI clones the repo as a sibling of shared/, which holds the real Universe/Marathon schemas.
REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"


@pytest.fixture(scope="session")
def reference() -> Path:
    if not (REFERENCE / "universe-schema" / "package-schema.json").is_file():
        pytest.skip(f"shared reference schemas not found at {REFERENCE.resolve()}")
    return REFERENCE.resolve()


@pytest.fixture(scope="session")
def schemas(reference):
    return load_schemas(reference)


@pytest.fixture(scope="session")
def package() -> build.Package:
    return build.parse_package(build.source_texts())


@pytest.fixture(scope="session")
def built(tmp_path_factory, schemas) -> Path:
    out = tmp_path_factory.mktemp("universe")
    build.build(out, schemas)
    return out


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
