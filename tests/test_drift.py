"""Code shown = code shipped, and one definition of each thing.

A notebook cell that shows package code carries the tag ``module:<module>`` (e.g. ``module:tutorial_src.auth``)
naming the module that ships it. Each function or class the cell defines under a name of that module must be the
same code (compared as syntax trees, so comments and docstrings may differ). A cell that defines a name the
package ships, without the tag of a module that ships it, fails: the lookup never guesses by bare name.

Each function or class name is defined in one module of the package, bar ``DELIBERATE_TWINS``.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Mapping
from pathlib import Path

import nbformat
import pytest
from notebook_helpers import NOTEBOOKS, ROOT, code_cells, python_source, read, top_level_definitions

PACKAGE_ROOT = ROOT / "tutorial_src"
MODULE_TAG = "module:"

#: Names defined on purpose in more than one module: ``{name: the modules that may define it}``. None today; a
#: vulnerable twin that kept the name of the app function it weakens would be listed here, with the reason.
DELIBERATE_TWINS: dict[str, frozenset[str]] = {
    # The `python -m` entry point of each runnable module is called main, by convention.
    "main": frozenset(
        {"tutorial_src.__main__", "tutorial_src.keyset", "tutorial_src.resource", "tutorial_src.lab.setupcheck"}
    ),
}


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


def package_modules(root: Path) -> dict[str, dict[str, ast.AST]]:
    """``{dotted module name: {name: node}}`` of the top-level functions and classes of every module under root."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = top_level_definitions(path.read_text(encoding="utf-8"))
    return modules


def _is_checker(module: str) -> bool:
    return module.split(".")[1:2] == ["check"]


def _namespace(module: str) -> str:
    # The checkers are one namespace: `check` re-exports every checker module with `*`, and a checker is named
    # after the exercise it checks (check.parse_bearer(my_parse_bearer)), so it may share a name with a taught
    # function - never with another checker, which the re-export would silently shadow.
    return "check" if _is_checker(module) else "package"


def duplicate_definitions(
    modules: Mapping[str, Mapping[str, ast.AST]],
    twins: Mapping[str, frozenset[str]] = DELIBERATE_TWINS,
) -> dict[str, list[str]]:
    """``{name: modules}`` for each name defined in two modules of one namespace, bar the allowed twins."""
    homes: dict[tuple[str, str], list[str]] = {}
    for module, definitions in modules.items():
        for name in definitions:
            homes.setdefault((_namespace(module), name), []).append(module)
    return {
        name: found
        for (_, name), found in sorted(homes.items())
        if len(found) > 1 and not set(found) <= twins.get(name, frozenset())
    }


def shown_definitions(
    notebooks: Iterable[tuple[str, nbformat.NotebookNode]], modules: Mapping[str, Mapping[str, ast.AST]]
) -> tuple[list[tuple[str, str, str, ast.AST, ast.AST]], list[str]]:
    """The rows ``(notebook, name, module, shown node, shipped node)`` to compare, and the problems found:
    a tag naming no module, a tag naming a module the cell shows nothing of, a package name shown untagged."""
    shipped_in: dict[str, list[str]] = {}
    for module, definitions in modules.items():
        if not _is_checker(module):
            for name in definitions:
                shipped_in.setdefault(name, []).append(module)
    rows, problems = [], []
    for notebook, nb in notebooks:
        for number, cell in enumerate(code_cells(nb), start=1):
            where = f"{notebook}, code cell {number}"
            tags = [
                tag.removeprefix(MODULE_TAG) for tag in cell.metadata.get("tags", []) if tag.startswith(MODULE_TAG)
            ]
            problems += [f"{where}: the tag module:{tag} names no module" for tag in tags if tag not in modules]
            tags = [tag for tag in tags if tag in modules]
            shown = top_level_definitions(python_source(cell))
            for name, node in shown.items():
                home = next((tag for tag in tags if name in modules[tag]), None)
                if home is not None:
                    rows.append((notebook, name, home, node, modules[home][name]))
                elif name in shipped_in:
                    problems.append(
                        f"{where} defines {name}, which {' and '.join(shipped_in[name])} ships: "
                        f"tag the cell module:{shipped_in[name][0]}"
                    )
            problems += [
                f"{where}: tagged module:{tag} but defines nothing of it"
                for tag in tags
                if not set(shown) & set(modules[tag])
            ]
    return rows, problems


MODULES = package_modules(PACKAGE_ROOT)
SHOWN, PROBLEMS = shown_definitions(((path.name, read(path)) for path in NOTEBOOKS), MODULES)


def test_notebooks_teach_package_code():
    # If no notebook shows a function of the package, the drift test below checks nothing.
    assert SHOWN, "no notebook shows a function of tutorial_src"


def test_every_cell_showing_package_code_names_its_module():
    assert PROBLEMS == []


@pytest.mark.parametrize(
    ("notebook", "name", "module", "node", "shipped"), SHOWN, ids=[f"{row[0]}::{row[1]}" for row in SHOWN]
)
def test_notebook_code_matches_package(notebook, name, module, node, shipped):
    assert _without_docstrings(node) == _without_docstrings(shipped), (
        f"{notebook} defines {name}() differently from {module}; change both, then run `make notebooks`"
    )


def test_drift_detects_a_change():
    # Guards the guard: a one-character change in a shipped function must count as drift.
    source = "async def login(request):\n    return 1\n"
    changed = source.replace("1", "2")
    a = top_level_definitions(source)["login"]
    b = top_level_definitions(changed)["login"]
    assert _without_docstrings(a) != _without_docstrings(b)


def _notebook(source: str, *tags: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)})])


def test_the_lookup_uses_the_module_the_cell_names():
    # Two modules ship f: the cell is compared with the one its tag names, whichever comes first.
    modules = {
        "pkg.a": top_level_definitions("def f():\n    return 'a'\n"),
        "pkg.b": top_level_definitions("def f():\n    return 'b'\n"),
    }
    rows, problems = shown_definitions([("nb", _notebook("def f():\n    return 'b'\n", "module:pkg.b"))], modules)
    assert problems == []
    [(_, name, module, shown, shipped)] = rows
    assert (name, module) == ("f", "pkg.b")
    assert _without_docstrings(shown) == _without_docstrings(shipped)


@pytest.mark.parametrize(
    ("source", "tags", "problem"),
    [
        ("def f(): ...", [], "nb, code cell 1 defines f, which pkg.a ships: tag the cell module:pkg.a"),
        ("def f(): ...", ["module:pkg.gone"], "nb, code cell 1: the tag module:pkg.gone names no module"),
        ("def g(): ...", ["module:pkg.a"], "nb, code cell 1: tagged module:pkg.a but defines nothing of it"),
    ],
)
def test_a_missing_or_wrong_tag_is_a_problem(source, tags, problem):
    modules = {"pkg.a": top_level_definitions("def f(): ...")}
    assert problem in shown_definitions([("nb", _notebook(source, *tags))], modules)[1]


def test_each_name_has_one_definition():
    assert duplicate_definitions(MODULES) == {}


def test_a_second_definition_fails(tmp_path):
    # A synthetic package: f in an app module and in the lab, g in two checker modules, h in an app module and a
    # checker (allowed: checkers are named after what they check).
    for relative, source in {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f(): ...\ndef h(): ...\n",
        "pkg/lab/b.py": "class f: ...\n",
        "pkg/check/nb01.py": "def g(): ...\ndef h(): ...\n",
        "pkg/check/nb02.py": "async def g(): ...\n",
    }.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(source)
    modules = package_modules(tmp_path / "pkg")
    assert duplicate_definitions(modules, twins={}) == {
        "f": ["pkg.a", "pkg.lab.b"],
        "g": ["pkg.check.nb01", "pkg.check.nb02"],
    }
    twins = {"f": frozenset({"pkg.a", "pkg.lab.b"})}
    assert duplicate_definitions(modules, twins=twins) == {"g": ["pkg.check.nb01", "pkg.check.nb02"]}
