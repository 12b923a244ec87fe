"""The student edition (`make student`): solutions become hint stubs, exercise outputs go, and every student
notebook runs top to bottom with each checker saying "not yet"."""

from __future__ import annotations

import ast
import asyncio
import os
from pathlib import Path

import nbformat
import pytest
from lesson_factory import lesson_cells, write_series
from nbclient import NotebookClient
from notebook_helpers import NOTEBOOKS, code_cells

from authoring.lesson import output_text
from authoring.nbtools import NAV_TAG, CurrentEnvKernelManager, is_setup
from authoring.student import (
    BEGIN_SOLUTION,
    CHECKER_TAG,
    END_SOLUTION,
    EXERCISE_TAG,
    GENERIC_HINT,
    STUCK_TAG,
    TEXT_STUB,
    SolutionRegionError,
    build,
    main,
    solution_problems,
    stub_code,
    stub_markdown,
    stuck_imports,
    student_notebook,
    uncomment_stuck,
)
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX

RAISES_TAGS = {"raises-exception", "nbval-raises-exception"}

# --- the stubs -----------------------------------------------------------------------------------------------

EXERCISE = '''def my_parse(header):
    """Doc."""
    # Hint: split once on a space.
    ### BEGIN SOLUTION
    scheme, token = header.split(" ", 1)
    return token
    ### END SOLUTION'''


def test_code_region_becomes_a_hint_stub_indented_like_the_region():
    assert stub_code(EXERCISE) == (
        'def my_parse(header):\n    """Doc."""\n    # Hint: split once on a space.\n'
        '    raise NotImplementedError("split once on a space.")'
    )


def test_code_outside_the_region_is_kept():
    source = "import re\n\n" + EXERCISE + "\n\nLIMIT = 3"
    stubbed = stub_code(source)
    assert stubbed.startswith("import re\n\ndef my_parse(header):")
    assert stubbed.endswith('raise NotImplementedError("split once on a space.")\n\nLIMIT = 3')


def test_without_a_hint_line_the_stub_says_the_generic_hint():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    assert stub_code(source) == f'def f():\n    raise NotImplementedError("{GENERIC_HINT}")'


def test_each_region_gets_its_own_hint():
    source = (
        "def f():\n    # Hint: first.\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n"
        "def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION"
    )
    stubbed = stub_code(source)
    assert 'raise NotImplementedError("first.")' in stubbed
    # g has no hint of its own: the one above f's region must not leak into it.
    assert stubbed.endswith(f'def g():\n    raise NotImplementedError("{GENERIC_HINT}")')


@pytest.mark.parametrize("hint", ['say "Bearer"', "a back\\slash", "it's"])
def test_a_hint_with_quotes_is_still_a_valid_string_literal(hint):
    source = f"def f():\n    # Hint: {hint}\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"
    tree = ast.parse(stub_code(source))
    raised = tree.body[0].body[0].exc
    assert raised.args[0].value == hint


def test_markdown_region_becomes_your_answer_here():
    source = f"Why?\n\n{BEGIN_SOLUTION}\nBecause the signature covers it.\n{END_SOLUTION}\n\nNext."
    assert stub_markdown(source) == f"Why?\n\n{TEXT_STUB}\n\nNext."


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (f"def f():\n    {BEGIN_SOLUTION}\n    pass", "without"),
        (f"def f():\n    pass\n    {END_SOLUTION}", "without"),
        (f"def f():\n    {BEGIN_SOLUTION}\n    {BEGIN_SOLUTION}\n    {END_SOLUTION}", "inside another"),
    ],
)
def test_unmatched_or_nested_delimiters_are_refused(source, message):
    with pytest.raises(SolutionRegionError, match=message):
        stub_code(source)
    with pytest.raises(SolutionRegionError, match=message):
        stub_markdown(source)


# --- the rule that regions sit in function bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        EXERCISE,
        EXERCISE.replace("def my_parse", "async def my_parse"),
        "class Parser:\n    def parse(self, header):\n        # Hint: h.\n"
        "        ### BEGIN SOLUTION\n        return header\n        ### END SOLUTION",
    ],
)
def test_regions_in_function_bodies_are_fine(source):
    assert solution_problems(source) == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("# Hint: h.\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", "not inside a function body"),
        (
            "class C:\n    # Hint: h.\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION",
            "not inside a function",
        ),
        (EXERCISE.replace("# Hint: split once on a space.", "# split"), "no '# Hint:' line"),
        (EXERCISE.replace("    ### END SOLUTION", ""), "without"),
        (EXERCISE.replace("def my_parse(header):", "def my_parse(header:"), "not valid Python"),
    ],
)
def test_solution_problems_are_reported(source, problem):
    problems = solution_problems(source)
    assert any(problem in p for p in problems), problems


# --- whole notebooks -----------------------------------------------------------------------------------------


@pytest.fixture
def series(tmp_path) -> list[Path]:
    return write_series(tmp_path / "notebooks", {"01": lesson_cells("01"), "02": lesson_cells("02")})


def test_student_notebook_clears_exercise_and_checker_outputs_and_keeps_the_rest(series):
    original = nbformat.read(series[0], as_version=4)
    student = student_notebook(original)
    assert [c.id for c in student.cells] == [c.id for c in original.cells]
    for before, after in zip(original.cells, student.cells, strict=True):
        tags = set(before.metadata.get("tags", []))
        if tags & {EXERCISE_TAG, CHECKER_TAG}:
            assert after.outputs == [] and after.execution_count is None
        elif before.cell_type == "code":
            assert after.outputs == before.outputs and after.source == before.source
        elif NAV_TAG in tags:
            assert after.source == before.source
    text = nbformat.writes(student)
    assert BEGIN_SOLUTION not in text and END_SOLUTION not in text
    assert TEXT_STUB in text
    # The committed notebook is untouched.
    assert BEGIN_SOLUTION in nbformat.writes(original)


def test_build_writes_one_valid_notebook_per_input(series, tmp_path):
    written = build(series, tmp_path / "out" / "student")
    assert [p.name for p in written] == [p.name for p in series]
    for path in written:
        nbformat.validate(nbformat.read(path, as_version=4))


def test_main_reports_a_broken_notebook_without_a_traceback(series, tmp_path, capsys):
    nb = nbformat.read(series[0], as_version=4)
    nb.cells[5].source = f"def f():\n    {BEGIN_SOLUTION}\n    pass"
    nbformat.write(nb, series[0])
    assert main(["--out", str(tmp_path / "out"), *map(str, series)]) == 1
    assert f"{series[0]}: line 2: {BEGIN_SOLUTION} without {END_SOLUTION}" in capsys.readouterr().err


def test_main_writes_the_student_edition(series, tmp_path, capsys):
    assert main(["--out", str(tmp_path / "out"), *map(str, series)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in series]


# --- executing student notebooks -----------------------------------------------------------------------------


async def _execute(paths: list[Path], concurrency: int) -> dict[Path, nbformat.NotebookNode]:
    """Run each notebook top to bottom in its own kernel, ``concurrency`` kernels at a time; errors are kept
    in the outputs (``allow_errors``) so a test can name every failing cell, not just the first."""
    limit = asyncio.Semaphore(concurrency)

    async def run(path: Path) -> nbformat.NotebookNode:
        async with limit:
            nb = nbformat.read(path, as_version=4)
            client = NotebookClient(
                nb,
                timeout=300,
                allow_errors=True,
                kernel_manager_class=CurrentEnvKernelManager,
                resources={"metadata": {"path": str(path.parent)}},
            )
            await client.async_execute()
            return nb

    results = await asyncio.gather(*(run(path) for path in paths))
    return dict(zip(paths, results, strict=True))


def execute_all(paths: list[Path]) -> dict[Path, nbformat.NotebookNode]:
    return asyncio.run(_execute(paths, concurrency=max(1, min(len(paths), os.cpu_count() or 1))))


def run_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What went wrong when a student notebook ran: untagged errors, checkers that did not say "not yet".

    One failure is expected: after a central exercise (one with a ``stuck`` cell), the cell that first runs the
    learner's unfinished code stops with the stub's ``NotImplementedError`` and its hint, as *Run All* would stop
    there; the cells after it are not judged on errors. The same notebooks run to the end with the reference
    swapped in: ``test_student_edition_runs_with_the_stuck_lines_swapped_in``.
    """
    problems = []
    stuck_seen = stopped = False
    for cell in code_cells(nb):
        tags = set(cell.metadata.get("tags", []))
        stuck_seen = stuck_seen or STUCK_TAG in tags
        for output in cell.outputs:
            if output.output_type != "error" or tags & RAISES_TAGS or stopped:
                continue
            if stuck_seen and output.ename == "NotImplementedError":
                stopped = True
                continue
            problems.append(f"{output.ename}: {output.evalue} in:\n{cell.source[:200]}")
        if CHECKER_TAG in tags and NOT_YET_PREFIX not in output_text(cell):
            problems.append(
                f"checker did not say {NOT_YET_PREFIX!r}: {cell.source[:120]} -> {output_text(cell)!r}"
            )
    return problems


def test_synthetic_student_and_teacher_editions_run(series, tmp_path):
    student = build(series[:1], tmp_path / "student")
    ran = execute_all([series[0], *student])
    teacher_checkers = [c for c in code_cells(ran[series[0]]) if CHECKER_TAG in c.metadata.get("tags", [])]
    assert [PASSED_PREFIX in output_text(c) for c in teacher_checkers] == [True, True]
    assert run_problems(ran[student[0]]) == []


def test_run_problems_catches_a_later_cell_that_uses_the_answer(series, tmp_path):
    # The mistake the real test exists to catch: a teaching cell that calls the learner's function.
    nb = nbformat.read(series[0], as_version=4)
    nb.cells.insert(-2, nbformat.v4.new_code_cell("my_add_one(41)"))
    nbformat.write(nb, series[0])
    ran = execute_all(build(series[:1], tmp_path / "student"))
    [problem] = run_problems(next(iter(ran.values())))
    assert problem.startswith("NotImplementedError: use the + operator.")


# The committed notebooks, as the learners get them.


@pytest.fixture(scope="module")
def student_runs(tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    out = tmp_path_factory.mktemp("student")
    ran = execute_all(build(NOTEBOOKS, out))
    return {path.name: nb for path, nb in ran.items()}


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_student_edition_runs_and_every_checker_says_not_yet(student_runs, name):
    nb = student_runs[name]
    assert BEGIN_SOLUTION not in nbformat.writes(nb)
    if not is_setup(Path(name)):  # the set-up check has checks, not exercises
        assert [c for c in code_cells(nb) if CHECKER_TAG in c.metadata.get("tags", [])], "no checker cells"
    assert run_problems(nb) == []


def test_folded_solutions_leave_the_student_edition():
    from authoring.student import without_solution_details

    source = (
        "Write it.\n\n<details><summary>Solution</summary>\n\nSplit once.\n</details>\n\nThen run the checker."
    )
    assert without_solution_details(source) == "Write it.\n\nThen run the checker."
    other = "<details><summary>Why?</summary>Because.</details>"
    assert without_solution_details(other) == other


# A learner who is stuck uncomments the "stuck?" line after each central exercise: the rest must then run.


@pytest.fixture(scope="module")
def swapped_runs(tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    out = tmp_path_factory.mktemp("swapped")
    paths = []
    for path in build(NOTEBOOKS, out):
        nb = nbformat.read(path, as_version=4)
        stuck = [c for c in nb.cells if STUCK_TAG in c.metadata.get("tags", [])]
        if not stuck:
            path.unlink()
            continue
        for cell in stuck:
            cell.source = uncomment_stuck(cell.source)
        nbformat.write(nb, path)
        paths.append(path)
    return {path.name: nb for path, nb in execute_all(paths).items()}


def test_central_exercises_have_a_stuck_line():
    with_stuck = {
        p.name
        for p in NOTEBOOKS
        if any(STUCK_TAG in c.metadata.get("tags", []) for c in nbformat.read(p, as_version=4).cells)
    }
    assert {"01-login.ipynb", "02-middleware.ipynb", "03-decorator.ipynb", "06-cost.ipynb"} <= with_stuck
    assert "07-sessions.ipynb" in with_stuck


def test_uncomment_stuck():
    line = "# from tutorial_src.login import login  # ← stuck? uncomment this line to use the reference and go on"
    assert stuck_imports(line) == [("tutorial_src.login", ["login"])]
    assert uncomment_stuck(line) == "from tutorial_src.login import login"
    assert uncomment_stuck("# a comment") == "# a comment"


@pytest.mark.parametrize("name", ["01-login.ipynb", "03-decorator.ipynb", "08-browser.ipynb"])
def test_student_edition_runs_with_the_stuck_lines_swapped_in(swapped_runs, name):
    nb = swapped_runs[name]
    errors = [
        f"{output.ename}: {output.evalue}"
        for cell in code_cells(nb)
        for output in cell.outputs
        if output.output_type == "error" and not set(cell.metadata.get("tags", [])) & RAISES_TAGS
    ]
    assert errors == []
    assert run_problems(nb) == []  # the checkers ran on the stubs, before the swap: "not yet"
    # Later cells work with the reference: the server answers as in the instructor edition.
    text = "".join(output_text(cell) for cell in code_cells(nb))
    assert "internal_error" not in text
    expected = {
        "01": "'token_type': 'Bearer'",
        "03": "alice     GET /admin/users -> 403",
        "08": "Set-Cookie: __Secure-refresh_token=<refresh token>; HttpOnly",
    }
    assert expected[name[:2]] in text
