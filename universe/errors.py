"""Errors of the Universe package tool, under one root."""

from __future__ import annotations


class UniverseError(Exception):
    """Root of every error the package tool reports to its user."""


class SchemaNotFoundError(UniverseError):
    """The reference schemas (Universe, Marathon) are not where they were looked for."""


class PackageInvalidError(UniverseError):
    """The package sources fail the checks Universe's CI runs; `problems` lists each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("package invalid:\n  " + "\n  ".join(problems))


class OptionsInvalidError(UniverseError):
    """The options do not match config.json, as Cosmos would refuse them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Options JSON failed validation:\n  " + "\n  ".join(problems))


class RenderError(UniverseError):
    """The rendered Marathon app is not a valid app definition."""
