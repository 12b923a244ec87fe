"""The authoring tools' command lines, run as the make targets run them, also under ``python -OO``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ["authoring.lesson", "authoring.nbtools", "authoring.student"]


@pytest.mark.parametrize("optimize", [[], ["-OO"]], ids=["plain", "-OO"])
@pytest.mark.parametrize("tool", TOOLS)
def test_help_runs_with_and_without_docstrings(tool, optimize):
    # -OO strips docstrings: a --help built from __doc__ crashed there.
    done = subprocess.run(
        [sys.executable, *optimize, "-m", tool, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {tool}")
    assert done.stderr == ""
