"""Fixtures for the Universe package tests: the real Universe schemas and the package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reference import REFERENCE
from universe import build
from universe.schemas import load_schemas, reference_dir


@pytest.fixture(scope="session")
def reference() -> Path:
    return reference_dir(REFERENCE)


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
