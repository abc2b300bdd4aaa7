"""Where the tests' reference data lives: inside the project (tests/data/reference/SOURCES.md
names each file's origin and licence), so a clone anywhere runs every test."""

from __future__ import annotations

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "data" / "reference"


def reference_files(subdir: str, pattern: str) -> list[Path]:
    """The matching files, failing loudly when there are none: an empty list would turn the
    tests parametrized over it into silent skips."""
    found = sorted((REFERENCE / subdir).glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} under {REFERENCE / subdir}")
    return found
