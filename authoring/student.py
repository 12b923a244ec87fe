"""Build the student edition of the notebooks: solutions out, hint stubs in, exercise outputs cleared.

``python -m authoring.student --out build/student notebooks/*.ipynb`` is what ``make student`` runs. For
each notebook it writes ``<out>/<same name>.ipynb`` where:

- in code cells, every region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the nbgrader
  convention) becomes ``raise NotImplementedError("<hint>")``, indented like the ``### BEGIN SOLUTION`` line;
  the hint is the text of the ``# Hint:`` comment above the region in the same cell, or ``GENERIC_HINT``;
- in Markdown cells, such a region (a written answer) becomes ``*Your answer here.*``;
- cells tagged ``exercise`` or ``checker`` lose their outputs and execution count, so the learner sees the
  checker's verdict only once they run it;
- everything else - other outputs, the navigation cells, metadata, cell ids - is kept as it is.

A region must sit inside a function body, so that the stub raises when the checker calls the function and not
when the learner runs the cell; ``solution_problems`` says where that rule is broken and ``tests/test_skeleton.py``
applies it to every notebook.

Why not nbgrader's ``ClearSolutions`` preprocessor (evaluated with nbgrader 0.9.6 next to JupyterLab 4.6 and
Notebook 7.6: it installs cleanly and emits no warnings): its stub is one fixed text per language, so the
per-exercise hint would need a subclass overriding its private ``_replace_solution_region``; it needs
``enforce_metadata=False`` because our cells carry tags, not nbgrader's cell metadata; and installing it adds
SQLAlchemy, alembic, Mako and RapidFuzz and switches on four nbgrader server extensions and the nbgrader
JupyterLab extension (Formgrader, Assignments and Courses menus) in every learner's JupyterLab. The region
replacement itself is a few lines of ``re``, so this module does it with nbformat and keeps nbgrader's
delimiters: an instructor who wants nbgrader's grading can still run ``nbgrader generate_assignment``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
#: Cell tag of the learner's code cell, and of the cell right after it that calls the checker.
EXERCISE_TAG = "exercise"
CHECKER_TAG = "checker"
#: Cell tag of the code cell right after a central exercise's checker: one commented line that imports the
#: reference from the package, ``STUCK_LINE``, for a learner who is stuck to uncomment.
STUCK_TAG = "stuck"
#: The stub's message when the cell has no ``# Hint:`` line above the region.
GENERIC_HINT = "Write your answer here, then run the checker cell below."
#: What a solution region in a Markdown cell becomes.
TEXT_STUB = "*Your answer here.*"

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)" + re.escape(BEGIN_SOLUTION) + r"[ \t]*$")
_END = re.compile(r"^[ \t]*" + re.escape(END_SOLUTION) + r"[ \t]*$")
_HINT = re.compile(r"^[ \t]*# Hint:[ \t]*(?P<hint>\S.*?)[ \t]*$")


#: ``# from tutorial_src.login import login  # ← stuck? uncomment this line to use the reference and go on``
STUCK_LINE = re.compile(
    r"^# (?P<statement>from (?P<module>tutorial_src(?:\.\w+)*) import (?P<names>\w+(?:, \w+)*))"
    r"  # ← stuck\? uncomment (?:this line )?to use the reference and go on$"  # "this line" may go: 115 columns
)


def stuck_imports(source: str) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of each commented stuck line of a ``stuck`` cell, in order."""
    found = []
    for line in source.splitlines():
        match = STUCK_LINE.match(line)
        if match:
            found.append((match.group("module"), match.group("names").split(", ")))
    return found


def uncomment_stuck(source: str) -> str:
    """``source`` with each stuck line uncommented: what a learner who is stuck does."""
    return "\n".join(
        match.group("statement") if (match := STUCK_LINE.match(line)) else line for line in source.splitlines()
    )


class SolutionRegionError(ValueError):
    """A ``### BEGIN SOLUTION`` without its ``### END SOLUTION`` (or the reverse), or two nested regions."""


def _regions(lines: list[str]) -> list[tuple[int, int]]:
    """``(begin, end)`` line indexes of every solution region, in order.

    Raises:
        SolutionRegionError: unmatched or nested delimiters.
    """
    regions, begin = [], None
    for number, line in enumerate(lines):
        if _BEGIN.match(line):
            if begin is not None:
                raise SolutionRegionError(f"line {number + 1}: {BEGIN_SOLUTION} inside another solution region")
            begin = number
        elif _END.match(line):
            if begin is None:
                raise SolutionRegionError(f"line {number + 1}: {END_SOLUTION} without {BEGIN_SOLUTION}")
            regions.append((begin, number))
            begin = None
    if begin is not None:
        raise SolutionRegionError(f"line {begin + 1}: {BEGIN_SOLUTION} without {END_SOLUTION}")
    return regions


def has_solution(source: str) -> bool:
    """Whether ``source`` contains at least one solution region (delimiters alone on their lines)."""
    return any(_BEGIN.match(line) for line in source.splitlines())


def _has_delimiter(source: str) -> bool:
    return any(_BEGIN.match(line) or _END.match(line) for line in source.splitlines())


def hint_for(lines: list[str], begin: int) -> str | None:
    """The text of the nearest ``# Hint:`` line above line ``begin`` and below the previous region, if any."""
    for line in reversed(lines[:begin]):
        if _END.match(line):
            return None
        match = _HINT.match(line)
        if match:
            return match.group("hint")
    return None


def _string_literal(text: str) -> str:
    """``text`` as a Python string literal, in double quotes when that needs no escaping."""
    if '"' not in text and "\\" not in text and text.isprintable():
        return f'"{text}"'
    return repr(text)


def stub_code(source: str) -> str:
    """``source`` with each solution region replaced by ``raise NotImplementedError("<hint>")``.

    Raises:
        SolutionRegionError: unmatched or nested delimiters.
    """
    lines = source.splitlines()
    regions = _regions(lines)
    out: list[str] = []
    position = 0
    for begin, end in regions:
        out.extend(lines[position:begin])
        line = lines[begin]
        indent = line[: len(line) - len(line.lstrip())]  # _regions found _BEGIN here: indent, then the marker
        hint = hint_for(lines, begin) or GENERIC_HINT
        out.append(f"{indent}raise NotImplementedError({_string_literal(hint)})")
        position = end + 1
    out.extend(lines[position:])
    return "\n".join(out)


def stub_markdown(source: str) -> str:
    """``source`` with each solution region replaced by ``*Your answer here.*``.

    Raises:
        SolutionRegionError: unmatched or nested delimiters.
    """
    lines = source.splitlines()
    out: list[str] = []
    position = 0
    for begin, end in _regions(lines):
        out.extend(lines[position:begin])
        out.append(TEXT_STUB)
        position = end + 1
    out.extend(lines[position:])
    return "\n".join(out)


#: A worked solution folded away in a Markdown cell: ``<details><summary>Solution</summary> … </details>``.
SOLUTION_DETAILS = re.compile(
    r"\n*<details>\s*<summary>\s*Solution\s*</summary>.*?</details>[ \t]*", re.DOTALL | re.IGNORECASE
)


def without_solution_details(source: str) -> str:
    """``source`` without its folded ``Solution`` blocks (the instructor edition keeps them for self-study)."""
    return SOLUTION_DETAILS.sub("", source)


def without_magics(source: str) -> str:
    """``source`` with IPython magics (``%…``, ``!…``) blanked out, so ``ast`` can parse it."""
    lines = source.splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def solution_problems(source: str) -> list[str]:
    """What is wrong with the solution regions of a code cell, as sentences; empty when all is well.

    Each region must be closed, have a ``# Hint:`` line above it, and sit inside a function body: its stub then
    raises when the function is called (by the checker), never when the learner runs the cell.
    """
    lines = source.splitlines()
    try:
        regions = _regions(lines)
    except SolutionRegionError as error:
        return [str(error)]
    problems = []
    for begin, _ in regions:
        if hint_for(lines, begin) is None:
            problems.append(f"line {begin + 1}: no '# Hint:' line above {BEGIN_SOLUTION}")
    try:
        tree = ast.parse(without_magics(stub_code(source)))
    except SyntaxError as error:
        return [*problems, f"the student edition of this cell is not valid Python: {error}"]
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    stubs = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name)
        and node.exc.func.id == "NotImplementedError"
    ]
    for stub in stubs:
        if not any(f.body[0].lineno <= stub.lineno <= (f.end_lineno or 0) for f in functions):
            problems.append(
                f"line {stub.lineno} of the student edition: the solution region is not inside a function "
                "body, so its stub would raise as soon as the learner runs the cell"
            )
    return problems


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student edition of ``nb`` (a new notebook; ``nb`` is left unchanged).

    Raises:
        SolutionRegionError: a cell has unmatched or nested delimiters.
    """
    student = copy.deepcopy(nb)
    for cell in student.cells:
        if cell.cell_type == "code":
            if _has_delimiter(cell.source):
                cell.source = stub_code(cell.source)
            if _tags(cell) & {EXERCISE_TAG, CHECKER_TAG}:
                cell.outputs = []
                cell.execution_count = None
        elif cell.cell_type == "markdown":
            if _has_delimiter(cell.source):
                cell.source = stub_markdown(cell.source)
            cell.source = without_solution_details(cell.source)
    return student


def build(paths: list[Path], out: Path) -> list[Path]:
    """Write the student edition of each notebook to ``out`` (created if needed); returns the written paths.

    Raises:
        SolutionRegionError: a notebook has unmatched or nested delimiters (the message names it).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(paths, key=lambda p: p.name):
        nb = nbformat.read(path, as_version=4)
        try:
            student = student_notebook(nb)
        except SolutionRegionError as error:
            raise SolutionRegionError(f"{path}: {error}") from error
        nbformat.validate(student)
        target = out / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    # Written out, not __doc__: python -OO strips docstrings.
    parser = argparse.ArgumentParser(
        prog="python -m authoring.student",
        description="Build the student edition: solutions out, hint stubs in, exercise outputs cleared.",
    )
    parser.add_argument("--out", type=Path, default=Path("build/student"), help="folder to write (created)")
    parser.add_argument("paths", nargs="*", type=Path, help="the notebooks (notebooks/NN-*.ipynb)")
    args = parser.parse_args(argv)
    try:
        written = build(args.paths, args.out)
    except SolutionRegionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
