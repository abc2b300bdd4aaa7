"""docs/configuration.md documents every variable and flag the scheduler accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config import VARIABLES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(
    encoding="utf-8")


@pytest.mark.parametrize("variable", VARIABLES, ids=lambda variable: variable.env)
def test_every_variable_and_flag_is_documented(variable):
    flag = f"`{variable.flag}`" if variable.flag else "-"
    assert f"| `{variable.env}` | {flag} |" in DOC
