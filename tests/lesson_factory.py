"""Small synthetic notebooks that follow the lesson skeleton, for testing the skeleton checker, the student
edition builder and the timing tables without the real notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat

from authoring.nbtools import write_nav
from tutorial_src.check import PASSED_PREFIX

#: The checkers the synthetic notebooks call (defined by their own setup cell, see ``SETUP``).
CHECKERS = {"add_one", "shout"}

TITLE = """# {number} · Synthetic lesson {number}
*A lesson made up for the tests.*

**Teaching:** {teaching} min · **Exercises:** {exercises} min

**Questions**
- How do the tests know the skeleton checker works?

**Objectives**
- Add one to a number.
- Shout a word,
  in capitals."""

# A stand-in for tutorial_src.check with two real checkers, so the notebook runs in a kernel.
SETUP = """from types import SimpleNamespace

from tutorial_src.check._core import Case, raises, returns, run_cases

ADD_ONE = [Case("1", (1,), returns(2)), Case("'a'", ("a",), raises(TypeError))]
check = SimpleNamespace(
    add_one=lambda answer: run_cases(answer, ADD_ONE, "adds one"),
    shout=lambda answer: run_cases(answer, [Case("'hi'", ("hi",), returns("HI!"))], "shouts"),
)"""

EXERCISE_1 = '''def my_add_one(number):
    """Return ``number + 1``."""
    # Hint: use the + operator.
    ### BEGIN SOLUTION
    return number + 1
    ### END SOLUTION'''

EXERCISE_2 = '''def my_shout(word):
    """Return ``word`` in capitals with an exclamation mark."""
    # Hint: str.upper() then add "!".
    ### BEGIN SOLUTION
    loud = word.upper()
    return loud + "!"
    ### END SOLUTION'''

KEY_POINTS = """## Key points
- Adding one is `+ 1`.
- Shouting is `str.upper()` and a `!`."""


def _code(source: str, *tags: str, output: str | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": output}, execution_count=1)]
        cell.execution_count = 1
    return cell


def lesson_cells(number: str = "01", teaching: int = 10, exercises: int = 5) -> list[nbformat.NotebookNode]:
    """The cells of a lesson that follows the skeleton (without the nav cells), checker outputs included."""
    md = nbformat.v4.new_markdown_cell
    return [
        md(TITLE.format(number=number, teaching=teaching, exercises=exercises)),
        md("## 1. Adding\n\nTeaching text.\n\n```python\n## not a heading: inside a code fence\n```"),
        _code(SETUP),
        _code("print(1 + 1)", output="2"),
        _code(EXERCISE_1, "exercise"),
        _code("check.add_one(my_add_one)", "checker", output=f"{PASSED_PREFIX} adds one"),
        md("## 2. Shouting\n\nWhy shout?\n\n### BEGIN SOLUTION\nShouting is loud.\n### END SOLUTION"),
        _code(EXERCISE_2, "exercise"),
        _code("check.shout(my_shout)", "checker", output=f"{PASSED_PREFIX} shouts"),
        md(KEY_POINTS),
    ]


def write_series(folder: Path, cells_by_number: dict[str, list[nbformat.NotebookNode]]) -> list[Path]:
    """Write ``NN-lesson.ipynb`` files with generated nav cells; returns their paths in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{number}-lesson.ipynb" for number in sorted(cells_by_number)]
    for path, number in zip(paths, sorted(cells_by_number), strict=True):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = cells_by_number[number]
        nbformat.write(nb, path)
    for path in paths:  # the titles of neighbours must exist before the links are written
        nb = nbformat.read(path, as_version=4)
        write_nav(nb, path, paths)
        nbformat.write(nb, path)
    return paths


SETUP_TITLE = TITLE.replace("Synthetic lesson {number}", "Check your set-up").replace(
    "- Add one to a number.\n- Shout a word,\n  in capitals.", "- Check the set-up.\n- Say what to fix."
)


def setup_cells(teaching: int = 5, exercises: int = 0) -> list[nbformat.NotebookNode]:
    """The cells of a set-up check (``00-…``) that follows the skeleton: checks, no exercises."""
    md = nbformat.v4.new_markdown_cell
    return [
        md(SETUP_TITLE.format(number="00", teaching=teaching, exercises=exercises)),
        md("## 1. Python\n\nWhich Python runs here."),
        _code("import sys\nprint(sys.version_info >= (3, 10))", output="True"),
        md("## 2. Packages\n\nWhat is installed."),
        _code("print('ok')", output="ok"),
        md("## Key points\n- The set-up is checked.\n- What to fix is said."),
    ]
