"""The series as a static website, from the stored outputs that nbval checks (nothing is executed).

``python -m authoring.site`` is what ``make site`` runs: it writes the website's sources to ``build/site-src``,
then builds them with Sphinx and MyST-NB (the engine of Jupyter Book 1, used directly) into ``build/site``, with
every warning an error. The configuration is ``docs/site/conf.py``; the site's packages are the ``site`` extra.

What the sources change in each notebook (the notebooks in ``notebooks/`` stay as they are):

- the navigation cells go: the site has its own sidebar and previous/next links;
- each exercise is shown as the learner's copy has it (the hint stub, in a code block), and the solution cell
  right after it with its code folded behind *Show the solution*; a written answer (a solution region in a
  Markdown cell) goes in a folded *Solution* dropdown;
- relative links to files that are not pages of the site go to the repository (``REPOSITORY_URL`` in
  ``conf.py``), or lose their link while it is empty; a link to the README goes to the site's index.

The index page is the README's introduction and the series map (the timings table), built from the same
sources as the README's.
"""

from __future__ import annotations

import argparse
import copy
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .lesson import read_lesson, timings_table
from .nbtools import NAV_TAG
from .student import BEGIN_SOLUTION, END_SOLUTION, EXERCISE_TAG, has_solution, stub_code

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "docs" / "site"
SRC = ROOT / "build" / "site-src"
OUT = ROOT / "build" / "site"
#: The cell tag MyST-NB folds the code of, and the cell-level words of its toggle.
HIDE_INPUT_TAG = "hide-input"
SHOW_SOLUTION = {"code_prompt_show": "Show the solution", "code_prompt_hide": "Hide the solution"}

_LINK = re.compile(r"(?P<text>\[[^\]]*\])\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
_DELIMITER = re.compile(
    r"^[ \t]*(?:" + re.escape(BEGIN_SOLUTION) + "|" + re.escape(END_SOLUTION) + r")[ \t]*\n?", re.MULTILINE
)
_MD_REGION = re.compile(
    r"^[ \t]*"
    + re.escape(BEGIN_SOLUTION)
    + r"[ \t]*\n(?P<body>.*?)^[ \t]*"
    + re.escape(END_SOLUTION)
    + r"[ \t]*$",
    re.DOTALL | re.MULTILINE,
)


def repository_url() -> str:
    """``REPOSITORY_URL`` of ``docs/site/conf.py`` (empty until the repository's address is known)."""
    return runpy.run_path(str(CONF_DIR / "conf.py"))["REPOSITORY_URL"]


def site_link(target: str, anchor: str, source: Path, pages: set[Path], repository: str) -> str | None:
    """Where a relative link of a notebook in the folder ``source`` should point on the site; ``None`` for no
    link. ``pages`` are the resolved paths of the notebooks that become pages."""
    resolved = (source / target).resolve()
    if resolved in pages:
        return target + anchor
    if resolved == (ROOT / "README.md").resolve():
        return "../index.md"
    if repository:
        return f"{repository.rstrip('/')}/blob/HEAD/{resolved.relative_to(ROOT).as_posix()}{anchor}"
    return None


def site_markdown(markdown: str, source: Path, pages: set[Path], repository: str) -> str:
    """A Markdown cell as the site shows it: written answers folded, links to the repository's files fixed."""

    def relink(match: re.Match[str]) -> str:
        target = match.group("target")
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        where = site_link(target, match.group("anchor") or "", source, pages, repository)
        return match.group("text")[1:-1] if where is None else f"{match.group('text')}({where})"

    folded = _MD_REGION.sub(lambda m: f":::{{dropdown}} Solution\n{m.group('body').rstrip()}\n:::", markdown)
    return _LINK.sub(relink, folded)


def site_notebook(
    nb: nbformat.NotebookNode, path: Path, pages: set[Path], repository: str
) -> nbformat.NotebookNode:
    """The page version of a notebook (a new notebook; ``nb`` is left unchanged)."""
    page = copy.deepcopy(nb)
    cells = []
    for cell in page.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if NAV_TAG in tags:
            continue
        if cell.cell_type == "markdown":
            cell.source = site_markdown(cell.source, path.parent, pages, repository)
        elif EXERCISE_TAG in tags and has_solution(cell.source):
            stub = nbformat.v4.new_markdown_cell(
                "**Your turn.** In your copy of the notebook this cell reads as below; replace the `raise` with "
                f"your answer, then run the checker cell.\n\n```python\n{stub_code(cell.source)}\n```"
            )
            stub.id = f"{cell.id}-stub"
            cells.append(stub)
            # The solution as code to read: without the region's delimiter lines.
            cell.source = _DELIMITER.sub("", cell.source).rstrip("\n")
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), HIDE_INPUT_TAG]
            cell.metadata["mystnb"] = dict(SHOW_SOLUTION)
        cells.append(cell)
    page.cells = cells
    return page


def index_page(paths: list[Path], readme: str) -> str:
    """The home page: the README's title and introduction, the series map, the table of contents."""
    introduction = readme.split("\n## Series map", 1)[0].rstrip()
    # Linked as from the README's folder: notebooks/NN-….ipynb, which the site's sources mirror.
    table = timings_table([read_lesson(path) for path in paths], ROOT)
    toctree = "\n".join(f"notebooks/{path.stem}" for path in paths)
    return (
        f"{introduction}\n\n## Series map\n\n{table}\n\n"
        "To run the notebooks yourself, follow the README's *Quick start*: one command makes your own copy of "
        "the series and opens it in JupyterLab.\n\n"
        f"```{{toctree}}\n:hidden:\n:caption: The series\n\n{toctree}\n```\n"
    )


def write_sources(paths: list[Path], src: Path, repository: str) -> None:
    """Write the site's sources: ``index.md`` and ``notebooks/NN-….ipynb``, replacing what was in ``src``."""
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    pages = {path.resolve() for path in paths}
    for path in paths:
        page = site_notebook(nbformat.read(path, as_version=4), path, pages, repository)
        nbformat.validate(page)
        nbformat.write(page, src / "notebooks" / path.name)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (src / "index.md").write_text(index_page(paths, readme), encoding="utf-8")


def build(src: Path, out: Path) -> int:
    """Sphinx's HTML build of ``src`` into ``out``, warnings as errors; returns its exit status."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    return subprocess.call(
        [*command, "-c", str(CONF_DIR), "-d", str(src.parent / "site-doctrees"), str(src), str(out)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authoring.site", description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=SRC, help="where the site's sources go (replaced)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the HTML goes")
    parser.add_argument("paths", nargs="*", type=Path, help="the notebooks (default: notebooks/NN-*.ipynb)")
    args = parser.parse_args(argv)
    paths = sorted(args.paths or (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"), key=lambda p: p.name)
    write_sources(paths, args.src, repository_url())
    status = build(args.src, args.out)
    if status == 0:
        print(f"website: {args.out / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
