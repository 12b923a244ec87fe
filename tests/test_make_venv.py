"""``make`` repairs its own ``.venv``: one without a working pip is made again, and a Python that cannot make
one (no ``ensurepip``: Debian without ``python3-venv``) gets a message that names the package.

Each test runs the real Makefile's ``venv`` target in a temporary folder with a real ``python -m venv``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HINT = "apt install python3-venv"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make_venv(folder: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    return subprocess.run(
        ["make", "--no-print-directory", "venv", f"PYTHON={python}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def pip_works(folder: Path) -> bool:
    python = folder / ".venv" / "bin" / "python"
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode == 0


def python_without_ensurepip(folder: Path, *, importable: bool) -> str:
    """A wrapper of this Python that behaves like Debian's without ``python3-venv``.

    ``importable=False``: ``import ensurepip`` fails. ``importable=True``: it imports, but ``python -m venv``
    leaves a ``.venv`` without pip and exits 1, as Debian's does (venv drops PYTHONPATH when it runs
    ensurepip in the new environment, so the wrapper plays that part itself).
    """
    wrapper = folder / "python-without-ensurepip"
    if importable:
        wrapper.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = -m ] && [ "$2" = venv ]; then\n'
            f'    "{sys.executable}" -m venv --without-pip "$3"\n'
            "    echo 'The virtual environment was not created successfully because ensurepip is not available.'\n"
            "    exit 1\n"
            "fi\n"
            f'exec "{sys.executable}" "$@"\n',
            encoding="utf-8",
        )
    else:
        shadow = folder / "shadow" / "ensurepip"
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text("raise ModuleNotFoundError('no ensurepip')\n", encoding="utf-8")
        script = f'#!/bin/sh\nPYTHONPATH="{shadow.parent}" exec "{sys.executable}" "$@"\n'
        wrapper.write_text(script, encoding="utf-8")
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_venv_without_pip_is_made_again(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / ".venv"], check=True)
    assert not pip_works(tmp_path)
    done = make_venv(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ".venv has no working pip; making it again" in done.stdout
    assert pip_works(tmp_path)


def test_a_working_venv_is_left_alone(tmp_path):
    assert make_venv(tmp_path).returncode == 0
    marker = tmp_path / ".venv" / "marker"
    marker.touch()
    done = make_venv(tmp_path)
    assert done.returncode == 0
    assert done.stdout == ""
    assert marker.exists()


@pytest.mark.parametrize("importable", [False, True], ids=["no-ensurepip", "ensurepip-fails"])
def test_a_python_that_cannot_make_a_venv_names_python3_venv(tmp_path, importable):
    done = make_venv(tmp_path, python_without_ensurepip(tmp_path, importable=importable))
    assert done.returncode != 0
    assert HINT in done.stdout
    # Nothing half made is left behind for the next make to trip over.
    assert not (tmp_path / ".venv").exists()
