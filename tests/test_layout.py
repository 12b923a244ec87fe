"""What may import what: an app module (``tutorial_src/*.py``) never imports the lab material, the checkers or the
authoring tools; those build on the app, never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from notebook_helpers import ROOT

PACKAGE = "tutorial_src"
FORBIDDEN = (f"{PACKAGE}.lab", f"{PACKAGE}.check", "authoring")


def imported_modules(source: str, package: str) -> set[str]:
    """The absolute names of the modules ``source`` imports anywhere (functions included), relative imports
    resolved against ``package``; ``from x import y`` counts as importing ``x`` and ``x.y`` (y may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def forbidden_imports(directory: Path, package: str) -> dict[str, list[str]]:
    """``{file name: forbidden modules it imports}`` for the modules directly in ``directory``."""
    problems = {}
    for path in sorted(directory.glob("*.py")):
        bad = sorted(
            module
            for module in imported_modules(path.read_text(encoding="utf-8"), package)
            if any(module == name or module.startswith(name + ".") for name in FORBIDDEN)
        )
        if bad:
            problems[path.name] = bad
    return problems


def test_app_modules_import_no_lab_checker_or_authoring_code():
    assert forbidden_imports(ROOT / PACKAGE, PACKAGE) == {}


def test_the_app_modules_are_there():
    # The check above must look at the app modules, not at an empty folder.
    assert {"app.py", "auth.py", "routes.py", "views.py"} <= {path.name for path in (ROOT / PACKAGE).glob("*.py")}


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        ("from .lab import server", ["tutorial_src.lab", "tutorial_src.lab.server"]),
        ("from .lab.jose import b64url_encode", ["tutorial_src.lab.jose", "tutorial_src.lab.jose.b64url_encode"]),
        ("from . import check", ["tutorial_src.check"]),
        ("from tutorial_src.check import nb01", ["tutorial_src.check", "tutorial_src.check.nb01"]),
        ("import tutorial_src.lab.attacks", ["tutorial_src.lab.attacks"]),
        ("import authoring.lesson as lesson", ["authoring.lesson"]),
        ("def later():\n    from authoring import nbtools", ["authoring", "authoring.nbtools"]),
        ("from .keys import SETTINGS\nfrom .laboratory import x\nimport checkers", []),
    ],
)
def test_a_forbidden_import_fails(tmp_path, source, imports):
    (tmp_path / "module.py").write_text(source + "\n")
    expected = {"module.py": imports} if imports else {}
    assert forbidden_imports(tmp_path, PACKAGE) == expected


def test_relative_imports_resolve_from_a_subpackage():
    assert "tutorial_src.lab" in imported_modules("from .. import lab", "tutorial_src.check")
    assert "tutorial_src.keys" in imported_modules("from ..keys import USERS", "tutorial_src.check")
