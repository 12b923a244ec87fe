"""``nbtools.sanitized_outputs`` (behind ``make notebooks-check``) applies the sanitize rules as nbval does."""

from __future__ import annotations

from pathlib import Path

import nbformat

from authoring.nbtools import read_sanitize_patterns, sanitized_outputs

PATTERNS = read_sanitize_patterns(Path(__file__).parent / "nbval_sanitize.cfg")


def notebook_with_html(signature: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("show_token(token)")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": f'<span class="jwt-signature" style="color:#00b9f1">{signature}</span>'},
            execution_count=1,
        )
    ]
    return nbformat.v4.new_notebook(cells=[cell])


def test_rules_with_quotes_match_inside_html_outputs():
    # The rule for the signature matches `class="jwt-signature"`; in the JSON text that quote is escaped.
    first = sanitized_outputs(notebook_with_html("hnQv8c-3Nd-VzeryuUbND1Bzweb"), PATTERNS)
    second = sanitized_outputs(notebook_with_html("Cylxeju-HChBH86mZIcef-hB86b"), PATTERNS)
    assert first == second
    assert "<SIGNATURE>" in first


def test_other_differences_still_count():
    first = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    second = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    first.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="401\n")]
    second.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="400\n")]
    assert sanitized_outputs(first, PATTERNS) != sanitized_outputs(second, PATTERNS)
