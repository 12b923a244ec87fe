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


def test_count_words_reads_what_the_student_edition_shows():
    markdown = (
        "## 1. Two words\n\nRFC 7519 says `jwt.decode` isn't base64url-encoded.\n\n"
        "```mermaid\nsequenceDiagram\n  A->>B: not counted\n```\n"
        "<details><summary>Hint 1</summary>\n\nCount me.\n</details>\n"
        "<details><summary>Solution</summary>\n\nnot counted\n</details>\n"
        "### BEGIN SOLUTION\nnot counted either\n### END SOLUTION\n"
    )
    # 1 Two words / RFC 7519 says jwt.decode isn't base64url-encoded / Hint 1 Count me / Your answer here
    assert lesson.count_words(markdown) == 3 + 6 + 4 + 3


def test_reading_counts_words_code_and_exercises(series):
    first = lesson.reading(series[0])
    assert first.exercises == 2
    assert first.code_cells == sum(1 for c in lesson_cells("01") if c.cell_type == "code") - 2
    assert first.words > 0
    assert first.reading_minutes == first.words / lesson.READING_WPM


def test_teaching_minutes_are_rounded_up_to_five():
    def minutes(words, cells, lines):
        return lesson.Reading(ROOT, words, cells, lines, 0).teaching_minutes

    assert minutes(0, 0, 0) == 5  # the minute of running alone
    assert minutes(175 * 4, 0, 0) == 5  # 4 + 1
    assert minutes(175 * 4 + 1, 0, 0) == 10
    assert minutes(175 * 10, 4, 40) == 15  # 10 + 1 + 2 + 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_each_notebooks_teaching_minutes_follow_the_count(path):
    counted = lesson.reading(path).teaching_minutes
    assert read_lesson(path).teaching == counted, (
        f"{path.name}: the title cell says {read_lesson(path).teaching} min of teaching, the count "
        f"(python -m authoring.lesson words) {counted}: see docs/authoring.md, Timings"
    )


def test_cli_prints_the_counts(series, capsys):
    assert lesson.main(["words", *map(str, series)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["notebook", "words", "read"]
    assert [line.split()[0] for line in out[1:]] == ["01-lesson.ipynb", "02-lesson.ipynb", "total"]
