"""authoring.learn: the learner's own copy of the series, made once, never overwritten, links that work.

The tests run ``python -m authoring.learn`` the way the README's set-up route does (from the repository's
folder, with the environment's Python; only the virtual environment is not made anew) in a scratch checkout,
so the real repository never gets a ``my-notebooks/``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests
from notebook_helpers import NOTEBOOKS, ROOT

from authoring.learn import lab_command, relink
from authoring.nbtools import NAV_TAG
from authoring.student import BEGIN_SOLUTION, EXERCISE_TAG

LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?:#[^)\s]*)?\)")


def make_checkout(repo: Path) -> Path:
    """What a clone holds that the route uses: the authoring tools, the notebooks, the README."""
    shutil.copytree(ROOT / "authoring", repo / "authoring", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "notebooks", repo / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(ROOT / "README.md", repo / "README.md")
    return repo


@pytest.fixture
def checkout(tmp_path) -> Path:
    return make_checkout(tmp_path / "repo")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, str]:
    """A checkout after its first ``python -m authoring.learn --no-launch``, and what that printed."""
    repo = make_checkout(tmp_path_factory.mktemp("first") / "repo")
    return repo, learn(repo, "--no-launch").stdout


def learn(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "authoring.learn", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    return result


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_first_run_writes_the_student_edition(first_run):
    checkout, printed = first_run
    copy = checkout / "my-notebooks"
    assert sorted(p.name for p in copy.iterdir()) == [p.name for p in NOTEBOOKS]
    assert f"Wrote {len(NOTEBOOKS)} notebook(s)" in printed
    for path in copy.iterdir():
        nb = read(path)
        assert BEGIN_SOLUTION not in nbformat.writes(nb)
        for cell in nb.cells:
            if EXERCISE_TAG in cell.metadata.get("tags", []):
                assert "raise NotImplementedError(" in cell.source and cell.outputs == []


def test_every_link_of_the_copy_works_and_leads_to_the_solutions(first_run):
    checkout, _ = first_run
    copy = checkout / "my-notebooks"
    for path in sorted(copy.iterdir()):
        nb = read(path)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for target in LINK.findall(cell.source):
                if "://" not in target:
                    assert (copy / target).resolve().is_file(), f"{path.name}: {target} leads nowhere"
        nav = [cell.source for cell in nb.cells if NAV_TAG in cell.metadata.get("tags", [])]
        assert len(nav) == 2
        solutions = f"(../notebooks/{path.name})"
        assert all(solutions in source for source in nav), nav
        assert all("(../README.md#series-map)" in source for source in nav)


def test_running_it_again_keeps_the_learners_work(checkout):
    learn(checkout, "--no-launch")
    mine = checkout / "my-notebooks" / "01-login.ipynb"
    nb = read(mine)
    nb.cells[2].source = "# my notes"
    nbformat.write(nb, mine)
    before = mine.read_bytes()
    (checkout / "my-notebooks" / "02-middleware.ipynb").unlink()
    result = learn(checkout, "--no-launch")
    assert mine.read_bytes() == before
    assert "Wrote 1 notebook(s)" in result.stdout, "a missing notebook comes back"
    assert f"Kept {len(NOTEBOOKS) - 1} notebook(s)" in result.stdout
    assert (checkout / "my-notebooks" / "02-middleware.ipynb").exists()


def test_fresh_moves_the_old_copy_aside_and_starts_over(checkout):
    learn(checkout, "--no-launch")
    mine = checkout / "my-notebooks" / "01-login.ipynb"
    nb = read(mine)
    nb.cells[2].source = "# my notes"
    nbformat.write(nb, mine)
    learn(checkout, "--no-launch", "--fresh")
    [aside] = checkout.glob("my-notebooks.old-*")
    assert read(aside / "01-login.ipynb").cells[2].source == "# my notes", "nothing is deleted"
    assert read(mine).cells[2].source != "# my notes"
    learn(checkout, "--no-launch", "--fresh")
    assert len(list(checkout.glob("my-notebooks.old-*"))) == 2, "a second fresh start keeps both old copies"


def test_it_starts_this_environments_jupyterlab_with_the_options_given(checkout):
    # --version makes JupyterLab print its version and exit: the real command line, without a server.
    result = learn(checkout, "--version")
    assert re.search(r"^\d+\.\d+\.\d+$", result.stdout, re.MULTILINE), result.stdout


def test_the_lab_command_opens_the_set_up_check_of_the_copy(tmp_path):
    copy = tmp_path / "my-notebooks"
    copy.mkdir()
    (copy / "00-setup.ipynb").write_text("{}")
    command = lab_command(copy, ["--no-browser"], root=tmp_path)
    assert command[:4] == [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={tmp_path.resolve()}"]
    assert command[-2:] == ["my-notebooks/00-setup.ipynb", "--no-browser"]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[Index](../README.md#series-map)", "[Index](../../README.md#series-map)"),
        ("[next](02-x.ipynb)", "[next](02-x.ipynb)"),
        ("[RFC](https://www.rfc-editor.org/rfc/rfc7519)", "[RFC](https://www.rfc-editor.org/rfc/rfc7519)"),
        (
            "![chart](img/a.png) and [guide](../docs/g.md)",
            "![chart](../../notebooks/img/a.png) and [guide](../../docs/g.md)",
        ),
    ],
)
def test_links_are_rewritten_for_a_copy_in_another_folder(tmp_path, markdown, expected):
    source, copy = tmp_path / "notebooks", tmp_path / "class" / "mine"
    assert relink(markdown, source, copy, {"02-x.ipynb"}) == expected


def test_the_readme_gives_the_same_route_without_make():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in (
        "py -m venv .venv",
        "python3 -m venv .venv",
        r'.venv\Scripts\python -m pip install -e ".[notebooks]"',
        r".venv\Scripts\python -m authoring.learn",
        '.venv/bin/python -m pip install -e ".[notebooks]"',
        ".venv/bin/python -m authoring.learn",
        "python -m authoring.learn --fresh",
    ):
        assert command in readme, command


def test_make_lab_runs_the_same_entry_point():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lab:.*\n\t(?P<command>.+)$", makefile, re.MULTILINE)
    assert recipe and recipe.group("command") == "$(BIN)/python -m authoring.learn $(LAB_ARGS)"


def test_jupyterlab_serves_the_copy_the_solutions_and_the_readme(checkout):
    # The Quick start for real: JupyterLab must serve the repository's folder, or the copy's links to
    # ../notebooks/ (the solutions) and ../README.md lead nowhere. Its own process group, all stopped at the end.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "authoring.learn",
        "--no-browser",
        f"--port={port}",
        "--IdentityProvider.token=t",
    ]
    process = subprocess.Popen(
        command, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    api = f"http://127.0.0.1:{port}/api/contents"
    try:
        deadline = time.monotonic() + 120  # a guard against hanging, not a measurement
        while True:
            try:
                listing = requests.get(f"{api}/my-notebooks", params={"token": "t"}, timeout=10)
                break
            except requests.ConnectionError:
                assert process.poll() is None, "JupyterLab exited"
                assert time.monotonic() < deadline, "JupyterLab did not answer"
                time.sleep(0.5)
        assert listing.status_code == 200
        assert sorted(item["name"] for item in listing.json()["content"]) == [p.name for p in NOTEBOOKS]
        for path in ("README.md", "notebooks/01-login.ipynb", "my-notebooks/00-setup.ipynb"):
            assert (
                requests.get(f"{api}/{path}", params={"token": "t", "content": 0}, timeout=10).status_code == 200
            )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
