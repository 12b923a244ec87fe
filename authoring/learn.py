"""The learner's way in: make your own copy of the series (the student edition) once, then open JupyterLab on it.

Run from the repository's folder, with the Python of the environment that has the ``notebooks`` extra (this is
what ``make lab`` runs; it needs no ``make`` and no shell, so it works the same on Windows, macOS and Linux)::

    python -m authoring.learn                 # creates my-notebooks/ the first time, then opens JupyterLab
    python -m authoring.learn --fresh         # moves my-notebooks/ aside (kept, renamed) and makes a new copy
    python -m authoring.learn --no-launch     # only make the copy
    python -m authoring.learn --no-browser --port 8899   # other options go to JupyterLab

The copy is made once: a notebook that already exists in it is never written again, so a learner's work
survives running the command again; a notebook the series gained since is added. Each notebook of the copy is
the student edition (``authoring.student``: solutions replaced by hint stubs), its links still work from the
copy's folder, and its navigation cells link to the same notebook in the instructor edition (``notebooks/``),
which holds the solutions. JupyterLab starts in the repository's folder, so those links (and the README) open,
and shows the set-up check of the copy first.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from .nbtools import NAV_TAG
from .student import student_notebook

ROOT = Path(__file__).resolve().parent.parent
#: The instructor edition, and where the learner's copy goes by default (listed in .gitignore).
NOTEBOOKS = ROOT / "notebooks"
COPY = ROOT / "my-notebooks"
#: The notebook JupyterLab opens first.
FIRST = "00-setup.ipynb"
#: A Markdown link or image target: ``](target)`` or ``](target#anchor)``.
_LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")


def series(folder: Path = NOTEBOOKS) -> list[Path]:
    """The notebooks of the series in ``folder``, ``NN-topic.ipynb``, in order."""
    return sorted(folder.glob("[0-9][0-9]-*.ipynb"))


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def relink(markdown: str, source: Path, copy: Path, siblings: set[str]) -> str:
    """``markdown`` (from a notebook in the folder ``source``) with its relative links rewritten to work from the
    folder ``copy``; links to the notebooks in ``siblings`` stay as they are (the copy has them too)."""

    def rewrite(match: re.Match[str]) -> str:
        target = match.group("target")
        if "://" in target or target.startswith(("/", "mailto:")) or target in siblings:
            return match.group(0)
        moved = _relative((source / target).resolve(), copy.resolve())
        return f"]({moved}{match.group('anchor') or ''})"

    return _LINK.sub(rewrite, markdown)


def learner_notebook(path: Path, copy: Path, siblings: set[str]) -> nbformat.NotebookNode:
    """The student edition of the notebook at ``path`` as it goes into the folder ``copy``: links that work from
    there, and a link to the solutions (``path`` itself) in each navigation cell."""
    nb = student_notebook(nbformat.read(path, as_version=4))
    solutions = (
        f"[Solutions: this notebook in the instructor edition]({_relative(path.resolve(), copy.resolve())})"
    )
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        cell.source = relink(cell.source, path.parent, copy, siblings)
        if NAV_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source += f" · {solutions}"
    nbformat.validate(nb)
    return nb


def move_aside(copy: Path) -> Path:
    """Rename the folder ``copy`` to ``<name>.old-<date>-<time>`` beside it (never deleted); returns that path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = copy.with_name(f"{copy.name}.old-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = copy.with_name(f"{copy.name}.old-{stamp}-{number}")
    shutil.move(str(copy), str(aside))
    return aside


def make_copy(copy: Path = COPY, source: Path = NOTEBOOKS) -> tuple[list[Path], list[Path]]:
    """Write each notebook of ``source`` missing from ``copy``; returns ``(written, kept)``."""
    copy.mkdir(parents=True, exist_ok=True)
    paths = series(source)
    siblings = {path.name for path in paths}
    written, kept = [], []
    for path in paths:
        target = copy / path.name
        if target.exists():
            kept.append(target)
            continue
        nbformat.write(learner_notebook(path, copy, siblings), target)
        written.append(target)
    return written, kept


def lab_command(copy: Path, jupyter_args: list[str], root: Path = ROOT) -> list[str]:
    """JupyterLab of this Python, started in ``root`` (run it with ``cwd=root``) with the copy's first notebook
    open; ``--allow-root`` when running as root (containers), as Jupyter refuses it otherwise."""
    # The root explicitly: given a file to open and no root, Jupyter serves the file's folder, and the copy's
    # links to ../README.md and ../notebooks/ (the solutions) would lead outside what it serves.
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root.resolve()}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in jupyter_args:
        command.append("--allow-root")
    first = copy / FIRST
    if first.exists():
        command.append(_relative(first.resolve(), root.resolve()))
    return [*command, *jupyter_args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m authoring.learn",
        description=__doc__.split("\n")[0],
        epilog="Any other option is passed to JupyterLab, e.g. --no-browser --port 8899.",
        allow_abbrev=False,  # so a JupyterLab option is never mistaken for an abbreviation of one of ours
    )
    parser.add_argument("--folder", type=Path, default=COPY, help="where the copy goes (default: my-notebooks)")
    parser.add_argument("--fresh", action="store_true", help="move the copy aside and make a new one")
    parser.add_argument("--no-launch", action="store_true", help="only make the copy; do not start JupyterLab")
    args, jupyter_args = parser.parse_known_args(argv)
    copy = args.folder if args.folder.is_absolute() else Path.cwd() / args.folder
    if args.fresh and copy.exists():
        aside = move_aside(copy)
        print(f"Your previous copy is now {aside} (nothing was deleted).")
    written, kept = make_copy(copy)
    if written:
        print(f"Wrote {len(written)} notebook(s) to {copy}: the student edition, your own copy to work in.")
    if kept:
        print(f"Kept {len(kept)} notebook(s) of yours in {copy} unchanged (--fresh starts over).")
    print(f"The solutions (instructor edition) are in {NOTEBOOKS}; each notebook of your copy links to its own.")
    if args.no_launch:
        return 0
    command = lab_command(copy, jupyter_args)
    print("Starting JupyterLab (Ctrl+C to stop):", " ".join(command), flush=True)
    try:
        return subprocess.call(command, cwd=ROOT)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
