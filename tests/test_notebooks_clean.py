"""The committed notebooks are clean and deterministic: what `make notebooks` writes, nothing else."""

from __future__ import annotations

import json
import re

import pytest
from notebook_helpers import NOTEBOOKS, code_cells, read

RAISES_TAGS = {"raises-exception", "nbval-raises-exception"}
VOLATILE = re.compile(r"127\.0\.0\.1:\d{2,5}|localhost:\d{2,5}|0x[0-9a-f]{6,}|\b20\d\d-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return read(request.param)


def test_there_are_notebooks():
    assert NOTEBOOKS


def test_no_execution_timing_metadata(nb):
    for cell in nb.cells:
        assert "execution" not in cell.metadata
        assert "ExecuteTime" not in cell.metadata


def test_execution_counts_are_sequential(nb):
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "re-run with `make notebooks`"


def test_no_stderr_and_errors_only_where_tagged(nb):
    for cell in code_cells(nb):
        tags = set(cell.metadata.get("tags", []))
        for output in cell.outputs:
            assert not (output.output_type == "stream" and output.name == "stderr"), cell.source[:80]
            if output.output_type == "error":
                assert tags & RAISES_TAGS, f"untagged error output in: {cell.source[:80]}"


def test_no_ports_addresses_or_timestamps_in_outputs(nb):
    for cell in code_cells(nb):
        text = json.dumps(cell.outputs)
        assert not VOLATILE.search(text), f"volatile value in the output of: {cell.source[:80]}"


def test_kernelspec_is_python3(nb):
    assert nb.metadata.kernelspec.name == "python3"


MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_mermaid_lines_hold_no_statement_separator(nb):
    """Mermaid ends a statement at ``;``: a message such as ``Set-Cookie: x; HttpOnly`` breaks the whole diagram,
    which JupyterLab then shows as text (``make test-browser`` finds it; this finds it without a browser). Inside
    a quoted label a ';' is text."""
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for block in MERMAID_BLOCK.findall("".join(cell["source"])):
            # Inside a quoted label ("…") a ';' is text; outside it, it ends the statement.
            bad = [line.strip() for line in block.splitlines() if ";" in re.sub(r'"[^"]*"', "", line)]
            assert not bad, f"a ';' in a Mermaid diagram ends its statement early (write ',' or #59;): {bad}"
