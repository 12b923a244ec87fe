"""The lint set-up says what it claims: ruff reads the notebooks and flags undefined names, and the pre-commit
nbstripout check strips exactly what ``make notebooks`` strips."""

from __future__ import annotations

import shlex
import sys

import pytest
import yaml
from notebook_helpers import ROOT

from authoring.nbtools import VOLATILE_KEYS

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, which pyproject.toml still allows
    tomllib = pytest.importorskip("tomli")

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _hook(hook_id: str) -> dict:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    [hook] = [hook for repo in config["repos"] for hook in repo["hooks"] if hook["id"] == hook_id]
    return hook


def test_ruff_lints_the_notebooks_for_undefined_names():
    ruff = PYPROJECT["tool"]["ruff"]
    assert "*.ipynb" in ruff["extend-include"]
    assert "F" in ruff["lint"]["select"]  # F821, undefined name: a shown function that cannot run
    ignored = [rule for rules in ruff["lint"].get("per-file-ignores", {}).values() for rule in rules]
    assert not [rule for rule in ignored + ruff["lint"].get("ignore", []) if "F821".startswith(rule)]


def test_precommit_nbstripout_check_strips_what_make_notebooks_strips():
    arguments = shlex.split(_hook("nbstripout")["entry"])
    assert {"--verify", "--keep-output", "--keep-count", "--keep-id"} <= set(arguments)
    assert arguments[arguments.index("--extra-keys") + 1].split() == VOLATILE_KEYS


def test_precommit_runs_the_tools_of_make_lint():
    entries = {hook_id: _hook(hook_id)["entry"] for hook_id in ("ruff-check", "ruff-format", "mypy")}
    assert entries["ruff-check"].startswith(".venv/bin/ruff check")
    assert entries["ruff-format"].startswith(".venv/bin/ruff format --check")
    assert entries["mypy"] == ".venv/bin/mypy"
