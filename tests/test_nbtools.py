"""authoring.nbtools: navigation cells, cleaning, sanitize patterns, and executing a notebook.

Only ``test_execute_*`` start a kernel, once for the module (a module-scoped fixture); everything else works on
synthetic notebooks in ``tmp_path``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import nbformat
import pytest

from authoring import nbtools
from authoring.nbtools import (
    NAV_TAG,
    clean,
    execute,
    nav_markdown,
    notebook_title,
    read_sanitize_patterns,
    sanitized_outputs,
    write_nav,
)

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwianRpIjoiYWJjIn0."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)


def new_notebook(title: str, *sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n*One line.*")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


@pytest.fixture
def series(tmp_path) -> list[Path]:
    paths = []
    titles = [("01-login", "01 · Login"), ("02-middleware", "02 · Middleware"), ("03-end", "03 · End")]
    for name, title in titles:
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(new_notebook(title, "1 + 1"), path)
        paths.append(path)
    return paths


def nav_cells(nb) -> list[int]:
    return [index for index, cell in enumerate(nb.cells) if NAV_TAG in cell.metadata.get("tags", [])]


# --- navigation ---------------------------------------------------------------------------------------------


def test_title_is_the_first_heading(series, tmp_path):
    assert notebook_title(series[1]) == "02 · Middleware"
    untitled = tmp_path / "99-untitled.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), untitled)
    assert notebook_title(untitled) == "99-untitled"


def test_nav_links_to_previous_index_and_next(series):
    assert nav_markdown(series[0], series) == (
        "[Index of the series](../README.md#series-map) · [02 · Middleware →](02-middleware.ipynb)"
    )
    assert nav_markdown(series[1], series) == (
        "[← 01 · Login](01-login.ipynb) · [Index of the series](../README.md#series-map) · "
        "[03 · End →](03-end.ipynb)"
    )
    assert nav_markdown(series[2], series) == (
        "[← 02 · Middleware](02-middleware.ipynb) · [Index of the series](../README.md#series-map)"
    )


def test_write_nav_puts_exactly_one_nav_cell_first_and_last(series):
    nb = nbformat.read(series[1], as_version=4)
    write_nav(nb, series[1], series)
    assert nav_cells(nb) == [0, len(nb.cells) - 1]
    assert [nb.cells[0].id, nb.cells[-1].id] == ["nav-top", "nav-bottom"]
    assert nb.cells[0].cell_type == nb.cells[-1].cell_type == "markdown"
    assert nb.cells[0].source == nb.cells[-1].source == nav_markdown(series[1], series)
    assert nb.cells[1].source.startswith("# 02 · Middleware")
    nbformat.validate(nb)


def test_write_nav_is_idempotent(series):
    nb = nbformat.read(series[0], as_version=4)
    write_nav(nb, series[0], series)
    once = json.dumps(nb, sort_keys=True)
    write_nav(nb, series[0], series)
    assert json.dumps(nb, sort_keys=True) == once


def test_write_nav_replaces_stray_nav_cells(series):
    nb = nbformat.read(series[0], as_version=4)
    stray = nbformat.v4.new_markdown_cell("old links", metadata={"tags": [NAV_TAG]})
    nb.cells.insert(1, stray)
    write_nav(nb, series[0], series)
    assert nav_cells(nb) == [0, len(nb.cells) - 1]
    assert all(cell.source != "old links" for cell in nb.cells)


def test_nav_command_rewrites_the_files(series):
    assert nbtools.main(["nav", *map(str, series)]) == 0
    for path in series:
        nb = nbformat.read(path, as_version=4)
        assert nav_cells(nb) == [0, len(nb.cells) - 1]


# --- clean --------------------------------------------------------------------------------------------------


def executed_looking_notebook() -> nbformat.NotebookNode:
    nb = new_notebook("Clean me", "print('hi')")
    nb.metadata.language_info = {"name": "python", "version": "3.12.1", "mimetype": "text/x-python"}
    nb.metadata.widgets = {"state": {}}
    cell = nb.cells[1]
    cell.id = "keep-this-id"
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    cell.metadata = {
        "tags": ["raises-exception"],
        "execution": {"iopub.status.busy": "2031-05-17T12:00:00.000000Z"},
        "ExecuteTime": {"end_time": "2031-05-17T12:00:00.000000Z"},
        "collapsed": False,
        "scrolled": True,
    }
    return nb


def test_clean_drops_volatile_metadata():
    nb = clean(executed_looking_notebook())
    cell = nb.cells[1]
    for key in ("execution", "ExecuteTime", "collapsed", "scrolled"):
        assert key not in cell.metadata
    assert "version" not in nb.metadata.language_info
    assert "widgets" not in nb.metadata


def test_clean_keeps_outputs_counts_tags_ids_and_kernelspec():
    nb = clean(executed_looking_notebook())
    cell = nb.cells[1]
    assert cell.outputs == [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    assert cell.execution_count == 1
    assert cell.metadata.tags == ["raises-exception"]
    assert cell.id == "keep-this-id"
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.language_info.name == "python"
    nbformat.validate(nb)


# --- sanitize patterns --------------------------------------------------------------------------------------


def test_read_sanitize_patterns_reads_the_project_file():
    patterns = read_sanitize_patterns(SANITIZE)
    assert len(patterns) >= 5
    assert ("eyJ[A-Za-z0-9_-]*\\.eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*", "<JWT>") in patterns


def test_a_missing_sanitize_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_sanitize_patterns(tmp_path / "no-such.cfg")


def with_output(text: str) -> nbformat.NotebookNode:
    nb = new_notebook("Outputs", "x")
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return nb


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (f"token: {TOKEN}", "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.other-signature"),
        ("jti 0123456789abcdef0123456789abcdef", "jti fedcba9876543210fedcba9876543210"),
        ("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "$argon2id$v=19$m=8,t=1,p=1$b3RoZXJzYWx0$b3RoZXI"),
    ],
    ids=["jwt", "jti", "argon2"],
)
def test_sanitized_outputs_ignore_what_is_random_by_design(first, second):
    patterns = read_sanitize_patterns(SANITIZE)
    assert sanitized_outputs(with_output(first), patterns) == sanitized_outputs(with_output(second), patterns)


def test_sanitized_outputs_still_see_everything_else():
    patterns = read_sanitize_patterns(SANITIZE)
    ok, refused = with_output("status 200"), with_output("status 401")
    assert sanitized_outputs(ok, patterns) != sanitized_outputs(refused, patterns)


# --- regenerate and check-stable, without a kernel ----------------------------------------------------------


def fake_execute(outputs):
    """An ``execute`` that 'runs' a notebook by giving each code cell the next output of ``outputs``."""
    texts = iter(outputs)

    def run(path, *, timeout=300):
        nb = nbformat.read(path, as_version=4)
        for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=next(texts))]
            cell.metadata["execution"] = {"iopub.status.busy": "2031-05-17T12:00:00.000000Z"}
        return nb

    return run


def test_regenerate_writes_nav_outputs_and_no_volatile_metadata(series, monkeypatch, capsys):
    monkeypatch.setattr(nbtools, "execute", fake_execute(["2\n"] * 3))
    nbtools.regenerate(series)
    for path in series:
        nb = nbformat.read(path, as_version=4)
        assert nav_cells(nb) == [0, len(nb.cells) - 1]
        [code] = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert code.outputs[0].text == "2\n" and code.execution_count == 1
        assert "execution" not in code.metadata
    assert capsys.readouterr().out.count("executing ") == 3


def test_check_stable_passes_when_only_sanitized_values_change(series, monkeypatch, capsys):
    tokens = [f"token: {TOKEN}"] * 3 + ["token: eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.x"] * 3
    monkeypatch.setattr(nbtools, "execute", fake_execute(tokens))
    assert nbtools.check_stable(series, SANITIZE) == 0
    assert capsys.readouterr().out.strip().endswith("stable")


def test_check_stable_fails_when_an_output_changes(series, monkeypatch, capsys):
    monkeypatch.setattr(nbtools, "execute", fake_execute(["a\n"] * 3 + ["a\n", "b\n", "a\n"]))
    assert nbtools.check_stable(series, SANITIZE) == 1
    out = capsys.readouterr().out
    assert "02-middleware.ipynb: changed on the second run" in out
    assert "1 notebook(s) not stable" in out


# --- execute (one real kernel) ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    folder = tmp_path_factory.mktemp("notebook")
    path = folder / "tiny.ipynb"
    nb = new_notebook(
        "Tiny",
        "print(1 + 1)",
        f"import os, sys\nos.getcwd() == {str(folder)!r}, sys.executable == {sys.executable!r}",
        "x = 21\nx * 2",
    )
    nbformat.write(nb, path)
    return execute(path, timeout=60)


def test_execute_runs_every_cell_in_order(executed):
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2, 3]
    assert code[0].outputs == [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    assert code[2].outputs[0].output_type == "execute_result"
    assert code[2].outputs[0].data["text/plain"] == "42"


def test_execute_uses_this_python_and_the_notebooks_folder(executed):
    result = executed.cells[2].outputs[0].data["text/plain"]
    assert result == "(True, True)"


def test_cleaning_an_executed_notebook_keeps_its_outputs(executed):
    cleaned = clean(copy.deepcopy(executed))
    code = [cell for cell in cleaned.cells if cell.cell_type == "code"]
    assert all("execution" not in cell.metadata for cell in code)
    assert [cell.execution_count for cell in code] == [1, 2, 3]
    assert code[2].outputs[0].data["text/plain"] == "42"
    assert "version" not in cleaned.metadata.get("language_info", {})
    nbformat.validate(cleaned)
