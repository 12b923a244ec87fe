"""Code shown = code shipped: a function or class a notebook defines under the name of one in
``tutorial_src`` must be the same code (compared as syntax trees, so comments and docstrings may differ)."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
from notebook_helpers import NOTEBOOKS, ROOT, code_cells, python_source, read, top_level_definitions


def _without_docstrings(node: ast.AST) -> str:
    node = copy.deepcopy(node)
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        if (
            isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            child.body = body[1:] or [ast.Pass()]
    return ast.dump(node, include_attributes=False)


def package_definitions() -> dict[str, tuple[Path, ast.AST]]:
    found: dict[str, tuple[Path, ast.AST]] = {}
    for path in sorted((ROOT / "tutorial_src").rglob("*.py")):
        if "check" in path.relative_to(ROOT / "tutorial_src").parts[:-1]:
            continue  # checkers are called by notebooks, never taught; their names may repeat taught ones
        for name, node in top_level_definitions(path.read_text()).items():
            found.setdefault(name, (path, node))
    return found


def notebook_definitions() -> list[tuple[str, str, ast.AST]]:
    rows = []
    for path in NOTEBOOKS:
        for cell in code_cells(read(path)):
            for name, node in top_level_definitions(python_source(cell)).items():
                rows.append((path.name, name, node))
    return rows


PACKAGE = package_definitions()
SHARED = [row for row in notebook_definitions() if row[1] in PACKAGE]


def test_notebooks_teach_package_code():
    # If no notebook defines a function of the package, the drift test below checks nothing.
    assert SHARED, "no notebook defines a function of tutorial_src"


@pytest.mark.parametrize(("notebook", "name", "node"), SHARED, ids=[f"{r[0]}::{r[1]}" for r in SHARED])
def test_notebook_code_matches_package(notebook, name, node):
    path, shipped = PACKAGE[name]
    assert _without_docstrings(node) == _without_docstrings(shipped), (
        f"{notebook} defines {name}() differently from {path.relative_to(ROOT)}; "
        "change both, then run `make notebooks`"
    )


def test_drift_detects_a_change():
    # Guards the guard: a one-character change in a shipped function must count as drift.
    source = "async def login(request):\n    return 1\n"
    changed = source.replace("1", "2")
    a = top_level_definitions(source)["login"]
    b = top_level_definitions(changed)["login"]
    assert _without_docstrings(a) != _without_docstrings(b)
