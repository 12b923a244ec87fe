"""The timing tables in the docs are generated from the notebooks' minutes (`make nav`) and are current."""

from __future__ import annotations

import pytest
from lesson_factory import lesson_cells, write_series
from notebook_helpers import NOTEBOOKS, ROOT

from authoring import lesson
from authoring.lesson import (
    TIMINGS_END,
    TIMINGS_START,
    LessonFormatError,
    read_lesson,
    timings_table,
    update_timings,
    with_timings,
)

GUIDE = ROOT / "docs" / "instructor-guide.md"
# The README joins in as soon as it has the markers (the Makefile then rewrites it too).
TIMING_DOCS = [GUIDE] + [p for p in [ROOT / "README.md"] if p.exists() and TIMINGS_START in p.read_text()]


def test_the_instructor_guide_has_a_timings_table():
    assert TIMINGS_START in GUIDE.read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", TIMING_DOCS, ids=[p.name for p in TIMING_DOCS])
def test_timings_tables_match_the_notebooks(doc):
    assert update_timings(doc, NOTEBOOKS, check_only=True), f"{doc.name}: timings out of date; run `make nav`"


@pytest.fixture
def series(tmp_path):
    return write_series(
        tmp_path / "notebooks",
        {"01": lesson_cells("01", teaching=20, exercises=15), "02": lesson_cells("02", teaching=40, exercises=10)},
    )


def test_timings_table_sums_minutes_and_links_relative_to_the_document(series, tmp_path):
    table = timings_table([read_lesson(p) for p in series], tmp_path / "docs")
    assert table.splitlines()[2:] == [
        "| [01 · Synthetic lesson 01](../notebooks/01-lesson.ipynb) | A lesson made up for the tests. "
        "| 20 min | 15 min | 35 min | 0:35 |",
        "| [02 · Synthetic lesson 02](../notebooks/02-lesson.ipynb) | A lesson made up for the tests. "
        "| 40 min | 10 min | 50 min | 1:25 |",
        "| **All 2** | | **60 min** | **25 min** | **85 min** | |",
    ]


def test_with_timings_replaces_only_the_block():
    text = f"Before\n{TIMINGS_START}\nold\n{TIMINGS_END}\nAfter\n"
    assert with_timings(text, "new") == f"Before\n{TIMINGS_START}\nnew\n{TIMINGS_END}\nAfter\n"
    with pytest.raises(LessonFormatError, match="no '<!-- timings:start"):
        with_timings("No block.", "new")


def test_cli_writes_then_checks(series, tmp_path, capsys):
    doc = tmp_path / "guide.md"
    doc.write_text(f"# Guide\n{TIMINGS_START}\n{TIMINGS_END}\n", encoding="utf-8")
    paths = [str(p) for p in series]
    assert lesson.main(["timings", "--write", str(doc), "--check", *paths]) == 1
    assert "out of date" in capsys.readouterr().out
    assert lesson.main(["timings", "--write", str(doc), *paths]) == 0
    assert "| **All 2** | | **60 min** |" in doc.read_text(encoding="utf-8")
    assert lesson.main(["timings", "--write", str(doc), "--check", *paths]) == 0


def test_cli_prints_the_table_and_reports_a_doc_without_a_block(series, tmp_path, capsys):
    assert lesson.main(["timings", *map(str, series)]) == 0
    assert "| **All 2** |" in capsys.readouterr().out
    doc = tmp_path / "plain.md"
    doc.write_text("No block.\n", encoding="utf-8")
    assert lesson.main(["timings", "--write", str(doc), *map(str, series)]) == 1
    assert "plain.md: no '<!-- timings:start" in capsys.readouterr().err
