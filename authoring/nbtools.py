"""Maintenance of the notebooks: re-execute and clean them, write the navigation links.

``python -m authoring.nbtools execute notebooks/*.ipynb`` is what ``make notebooks`` runs:

1. rewrite the navigation cells (``nav``-tagged Markdown cells, first and last) from the file names;
2. execute every cell with nbclient in a fresh kernel of the *current* Python environment;
3. clean with nbstripout, keeping outputs, execution counts, cell ids, tags and the kernelspec, and dropping
   execution timings and the interpreter version (volatile metadata).

Running it twice in a row changes nothing except what ``tests/nbval_sanitize.cfg`` covers (tokens, random ids):
``python -m authoring.nbtools check-stable notebooks/*.ipynb`` proves it.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbstripout import strip_output

#: Cell tag of the navigation cells that ``write_nav`` owns.
NAV_TAG = "nav"
#: Metadata that changes from run to run or machine to machine, removed by ``clean``.
VOLATILE_KEYS = [
    "cell.metadata.execution",
    "cell.metadata.ExecuteTime",
    "cell.metadata.collapsed",
    "cell.metadata.scrolled",
    "metadata.language_info.version",
    "metadata.widgets",
    "metadata.signature",
]
_TITLE = re.compile(r"^# (.+)$", re.MULTILINE)


class CurrentEnvKernelManager(AsyncKernelManager):
    """A kernel manager that always runs this interpreter's ipykernel, whatever kernelspecs are installed."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (current environment)",
            language="python",
        )


def notebook_title(path: Path) -> str:
    """The text of the notebook's first ``# `` heading, or its file name."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and NAV_TAG not in cell.metadata.get("tags", []):
            match = _TITLE.search(cell.source)
            if match:
                return match.group(1).strip()
    return path.stem


#: The file-name prefix of the set-up check: it leads into the series but is not a lesson (docs/authoring.md).
SETUP_PREFIX = "00-"


def is_setup(path: Path) -> bool:
    """Whether ``path`` is the set-up check (``00-….ipynb``) rather than a lesson."""
    return path.name.startswith(SETUP_PREFIX)


def nav_markdown(path: Path, series: list[Path]) -> str:
    """``[← previous](…) · [Index](../README.md) · [next →](…)`` for ``path`` within ``series``.

    The set-up check links on to the first lesson; no lesson links back to it (the index lists it).
    """
    series = [p for p in series if p == path or not is_setup(p)]
    index = series.index(path)
    parts = []
    if index > 0:
        parts.append(f"[← {notebook_title(series[index - 1])}]({series[index - 1].name})")
    parts.append("[Index of the series](../README.md#series-map)")
    if index + 1 < len(series):
        parts.append(f"[{notebook_title(series[index + 1])} →]({series[index + 1].name})")
    return " · ".join(parts)


def write_nav(nb: nbformat.NotebookNode, path: Path, series: list[Path]) -> None:
    """Put one ``nav`` cell first and one last, replacing any there were (never edit them by hand)."""
    text = nav_markdown(path, series)
    nb.cells = [c for c in nb.cells if NAV_TAG not in c.get("metadata", {}).get("tags", [])]
    for position, cell_id in ((0, "nav-top"), (len(nb.cells) + 1, "nav-bottom")):
        cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [NAV_TAG]})
        cell.id = cell_id
        nb.cells.insert(position, cell)


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop volatile metadata with nbstripout; keep outputs, execution counts, ids, tags and the kernelspec."""
    return strip_output(nb, keep_output=True, keep_count=True, keep_id=True, extra_keys=VOLATILE_KEYS)


def execute(path: Path, *, timeout: int = 300) -> nbformat.NotebookNode:
    """Execute a notebook top to bottom in a fresh kernel, from its own folder; returns the executed copy."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        # One stream output per cell: how a print lands in chunks depends on timing, and would differ per run.
        coalesce_streams=True,
        kernel_manager_class=CurrentEnvKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def regenerate(paths: list[Path]) -> None:
    """Navigation, execution and cleaning of each notebook, written back in place."""
    series = sorted(paths, key=lambda p: p.name)
    for path in series:
        nb = nbformat.read(path, as_version=4)
        write_nav(nb, path, series)
        nbformat.write(nb, path)
        print(f"executing {path}", flush=True)
        executed = clean(execute(path))
        nbformat.validate(executed)
        nbformat.write(executed, path)


#: Cell tag whose outputs nbval does not compare (timings); ``check_stable`` skips them too.
IGNORE_OUTPUT_TAG = "nbval-ignore-output"
#: Output formats nbval does not compare (it skips PNG and JPEG unless run with ``--nbdime``).
UNCOMPARED_MIME_TYPES = ("image/png", "image/jpeg")


def sanitized_outputs(nb: nbformat.NotebookNode, patterns: list[tuple[str, str]]) -> str:
    """All outputs of ``nb`` as text, with the sanitize patterns applied (what nbval compares).

    Like nbval, it leaves out the outputs of cells tagged ``nbval-ignore-output`` and image data, so a
    measured timing or the chart drawn from it does not count as a change.
    """
    outputs: list[list[nbformat.NotebookNode]] = []
    for cell in nb.cells:
        if IGNORE_OUTPUT_TAG in cell.get("metadata", {}).get("tags", []):
            outputs.append([])
            continue
        cell_outputs = copy.deepcopy(cell.get("outputs", []))
        for output in cell_outputs:
            for mime_type in UNCOMPARED_MIME_TYPES:
                output.get("data", {}).pop(mime_type, None)
        outputs.append(cell_outputs)
    return json.dumps(_sanitize(outputs, patterns), sort_keys=True)


def _sanitize(value: object, patterns: list[tuple[str, str]]) -> object:
    # Applied to each string as nbval does, not to the JSON dump, where quotes are escaped and a pattern
    # such as class="jwt-signature" would no longer match.
    if isinstance(value, str):
        for regex, replace in patterns:
            value = re.sub(regex, replace, value)
        return value
    if isinstance(value, list):
        return [_sanitize(item, patterns) for item in value]
    if isinstance(value, dict):
        return {key: _sanitize(item, patterns) for key, item in value.items()}
    return value


def read_sanitize_patterns(path: Path) -> list[tuple[str, str]]:
    """The ``regex``/``replace`` pairs of an nbval sanitize file (an INI file, one section per pattern).

    Raises:
        FileNotFoundError: there is no file at ``path``.
    """
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    # read_file, not read: a wrong path must fail loudly instead of giving no patterns at all.
    with open(path, encoding="utf-8") as file:
        parser.read_file(file)
    return [(parser[s]["regex"], parser[s].get("replace", "")) for s in parser.sections()]


def check_stable(paths: list[Path], sanitize: Path) -> int:
    """Regenerate twice; return 1 if the second run changed anything the sanitize file does not cover."""
    patterns = read_sanitize_patterns(sanitize)
    regenerate(paths)
    first = {p: nbformat.read(p, as_version=4) for p in paths}
    regenerate(paths)
    failures = 0
    for path in paths:
        second = nbformat.read(path, as_version=4)
        before, after = first[path], second
        same_sources = [c.source for c in before.cells] == [c.source for c in after.cells]
        same_meta = before.metadata == after.metadata and [c.metadata for c in before.cells] == [
            c.metadata for c in after.cells
        ]
        same_outputs = sanitized_outputs(before, patterns) == sanitized_outputs(after, patterns)
        if not (same_sources and same_meta and same_outputs):
            failures += 1
            print(
                f"{path}: changed on the second run (sources={same_sources}, metadata={same_meta}, "
                f"outputs={same_outputs})"
            )
    print("stable" if not failures else f"{failures} notebook(s) not stable")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    # Written out, not __doc__: python -OO strips docstrings.
    parser = argparse.ArgumentParser(
        prog="python -m authoring.nbtools",
        description="Maintenance of the notebooks: re-execute and clean them, write the navigation links.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="write navigation, execute and clean notebooks in place")
    run.add_argument("paths", nargs="+", type=Path)
    nav = sub.add_parser("nav", help="only rewrite the navigation cells")
    nav.add_argument("paths", nargs="+", type=Path)
    stable = sub.add_parser("check-stable", help="regenerate twice and compare (sanitized)")
    stable.add_argument("--sanitize", type=Path, default=Path("tests/nbval_sanitize.cfg"))
    stable.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "execute":
        regenerate(args.paths)
        return 0
    if args.command == "nav":
        series = sorted(args.paths, key=lambda p: p.name)
        for path in series:
            nb = nbformat.read(path, as_version=4)
            write_nav(nb, path, series)
            nbformat.write(nb, path)
        return 0
    return check_stable(args.paths, args.sanitize)


if __name__ == "__main__":
    sys.exit(main())
