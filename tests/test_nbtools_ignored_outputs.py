"""``check_stable`` compares what nbval compares: not timings (``nbval-ignore-output``) and not images."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from authoring.nbtools import sanitized_outputs


def notebook(timing: str, png: str, text: str) -> nbformat.NotebookNode:
    timed = new_code_cell("measure()", metadata={"tags": ["nbval-ignore-output"]})
    timed.outputs = [new_output("stream", name="stdout", text=timing)]
    chart = new_code_cell("plot()")
    chart.outputs = [new_output("display_data", data={"image/png": png, "text/plain": "<Figure size 700x300>"})]
    plain = new_code_cell("print()")
    plain.outputs = [new_output("stream", name="stdout", text=text)]
    return new_notebook(cells=[timed, chart, plain])


def test_timings_and_images_do_not_count():
    first = sanitized_outputs(notebook("41.0 µs", "iVBORw0KGgoAAA", "same"), [])
    second = sanitized_outputs(notebook("58.3 µs", "iVBORw0KGgoBBB", "same"), [])
    assert first == second
    assert "<Figure size 700x300>" in first


def test_other_outputs_still_count():
    assert sanitized_outputs(notebook("1", "x", "before"), []) != sanitized_outputs(
        notebook("1", "x", "after"), []
    )


def test_sanitize_patterns_apply():
    patterns = [(r"token-\d+", "<TOKEN>")]
    assert sanitized_outputs(notebook("1", "x", "token-1"), patterns) == sanitized_outputs(
        notebook("1", "x", "token-2"), patterns
    )


def test_patterns_match_quoted_html_as_nbval_sees_it():
    # The sanitize file's HTML rule contains double quotes; it must match the output text itself.
    patterns = [(r'(class="sig"[^>]*>)[A-Za-z0-9_-]+', r"\1<SIGNATURE>")]

    def html_notebook(signature):
        cell = new_code_cell("show()")
        cell.outputs = [new_output("display_data", data={"text/html": f'<span class="sig">{signature}</span>'})]
        return new_notebook(cells=[cell])

    assert sanitized_outputs(html_notebook("abc"), patterns) == sanitized_outputs(html_notebook("xyz"), patterns)
