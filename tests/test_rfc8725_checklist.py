"""The RFC 8725 checklist of notebook 04 cannot rot: every ``module.py:function`` it names exists.

The table maps each recommendation of RFC 8725 §3 to the functions of ``tutorial_src`` that follow it, or
says "n/a" with a reason. Renaming or deleting one of those functions fails this test until the table changes.
"""

from __future__ import annotations

import importlib
import re

import pytest
from notebook_helpers import NOTEBOOK_DIR, read

NOTEBOOK = NOTEBOOK_DIR / "04-theory.ipynb"
REFERENCE = re.compile(r"`([a-z_]+)\.py:([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)`")
SECTIONS = [f"3.{n}" for n in range(1, 13)]


def markdown_sources() -> list[str]:
    return [cell.source for cell in read(NOTEBOOK).cells if cell.cell_type == "markdown"]


def checklist_rows() -> dict[str, list[str]]:
    """``{"3.1": [cells…], …}`` from the Markdown table whose rows start with an RFC 8725 section number."""
    table = next(source for source in markdown_sources() if "RFC 8725" in source and "| 3.12 |" in source)
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"3\.\d+", cells[0]):
            rows[cells[0]] = cells
    return rows


def resolve(module: str, qualified_name: str) -> object:
    target: object = importlib.import_module(f"tutorial_src.{module}")
    for part in qualified_name.split("."):
        target = getattr(target, part)
    return target


def test_every_recommendation_has_a_row():
    assert list(checklist_rows()) == SECTIONS


@pytest.mark.parametrize("section", SECTIONS)
def test_each_row_names_code_or_says_why_not(section):
    where = checklist_rows()[section][-1]
    references = REFERENCE.findall(where)
    if where == "n/a":
        assert "not applicable" in " ".join(checklist_rows()[section]), f"§{section}: say why it does not apply"
    else:
        assert references, f"§{section}: name a `module.py:function` or write n/a"


def all_references() -> list[tuple[str, str]]:
    return sorted({ref for source in markdown_sources() for ref in REFERENCE.findall(source)})


def test_the_notebook_cites_code():
    assert len(all_references()) >= 8


@pytest.mark.parametrize(("module", "name"), all_references(), ids=lambda value: str(value))
def test_cited_function_exists(module, name):
    target = resolve(module, name)
    assert callable(target) or isinstance(target, property), f"{module}.py:{name} is not code"


def test_resolve_fails_for_a_missing_function():
    # Guards the guard: a renamed function must make the lookup fail.
    with pytest.raises(AttributeError):
        resolve("tokens", "decode_access_token_v2")
