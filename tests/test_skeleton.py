"""Every notebook follows the lesson skeleton of docs/authoring.md (title, subtitle, minutes, questions,
objectives, H2 sections, at least two exercises with checkers, key points, generated navigation)."""

from __future__ import annotations

import re

import nbformat
import pytest
from lesson_factory import CHECKERS, lesson_cells, setup_cells, write_series
from notebook_helpers import NOTEBOOKS

from authoring import lesson
from authoring.lesson import LessonFormatError, bullets_after, checker_names, read_lesson, skeleton_problems
from authoring.nbtools import nav_markdown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_the_lesson_skeleton(path):
    assert skeleton_problems(path, NOTEBOOKS) == []


def test_checker_names_are_the_checkers_of_tutorial_src_check():
    from tutorial_src import check

    names = checker_names()
    assert all(callable(getattr(check, name)) for name in names)
    assert not names & {"PASSED_PREFIX", "NOT_YET_PREFIX", "CheckResult", "run_cases"}


# --- the checker itself, on synthetic notebooks -----------------------------------------------------------------


@pytest.fixture
def synthetic_checkers(monkeypatch):
    monkeypatch.setattr(lesson, "checker_names", lambda: set(CHECKERS))


def problems_of(tmp_path, cells):
    """The skeleton problems of lesson 01 of a two-lesson series whose lesson 01 has ``cells``."""
    series = write_series(tmp_path / "notebooks", {"01": cells, "02": lesson_cells("02")})
    return skeleton_problems(series[0], series)


def test_a_lesson_that_follows_the_skeleton_has_no_problems(tmp_path, synthetic_checkers):
    assert problems_of(tmp_path, lesson_cells()) == []


def _replace(index, old, new):
    def mutate(cells):
        assert old in cells[index].source, (index, old)
        cells[index].source = cells[index].source.replace(old, new)

    return mutate


def _delete(index):
    def mutate(cells):
        del cells[index]

    return mutate


def _retag(index, *tags):
    def mutate(cells):
        cells[index].metadata["tags"] = list(tags)

    return mutate


def _insert(index, cell):
    def mutate(cells):
        cells.insert(index, cell)

    return mutate


def _outputs(index, text):
    def mutate(cells):
        cells[index].outputs[0]["data"]["text/plain"] = text

    return mutate


# Cell indexes refer to lesson_factory.lesson_cells (nav cells are added around them).
BREAKAGES = {
    "wrong number": (_replace(0, "# 01 ·", "# 03 ·"), "the title says 03"),
    "no title": (_replace(0, "# 01 · ", "01 "), "does not start with '# NN · Title'"),
    "title not first": (_insert(0, nbformat.v4.new_code_cell("x = 1")), "not a Markdown title cell"),
    "no subtitle": (_replace(0, "*A lesson made up for the tests.*", "Plain."), "italic subtitle"),
    "no minutes": (_replace(0, "**Teaching:** 10 min", "Teaching: 10 min"), "**Teaching:** N min"),
    "zero minutes": (_replace(0, "**Exercises:** 5 min", "**Exercises:** 0 min"), "must both be positive"),
    "no questions": (_replace(0, "**Questions**", "Questions"), "'**Questions**'"),
    "no objectives": (
        _replace(0, "- Add one to a number.\n- Shout a word,\n  in capitals.", ""),
        "'**Objectives**'",
    ),
    "one section": (_replace(6, "## 2. Shouting", "Shouting"), "1 H2 section(s)"),
    "key points missing": (_delete(9), "0 key point(s)"),
    "key points not last": (_insert(10, nbformat.v4.new_markdown_cell("## 3. After")), "last H2 heading"),
    "key point missing": (_replace(9, "\n- Shouting is `str.upper()` and a `!`.", ""), "1 key point(s)"),
    "one exercise": (_retag(7), "1 exercise cell(s)"),
    "untagged solution": (_retag(7), "not tagged 'exercise'"),
    "unmatched region": (_replace(4, "    ### BEGIN SOLUTION\n", ""), "without"),
    "no region": (
        _replace(4, "    ### BEGIN SOLUTION\n    return number + 1\n    ### END SOLUTION", "    return 2"),
        "no '### BEGIN",
    ),
    "top-level region": (
        _replace(4, "def my_add_one", "# Hint: x\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n\ndef my_add_one"),
        "not inside a function body",
    ),
    "no hint": (_replace(4, "# Hint: use the + operator.", "# use +"), "no '# Hint:' line"),
    "no function": (_replace(7, "def my_shout(word):", "if True:"), "defines no function"),
    "no checker after": (_retag(5), "the next code cell is not tagged 'checker'"),
    "unknown checker": (_replace(5, "check.add_one", "check.add_two"), "check.add_two is not a checker"),
    "no check call": (_replace(5, "check.add_one(my_add_one)", "print(my_add_one(1))"), "does not call check"),
    "checks something else": (_replace(5, "check.add_one(my_add_one)", "check.add_one(int)"), "does not pass"),
    "solution fails": (_outputs(5, "❌ Not yet: 1: expected 2, got 3"), "not the success line"),
    "stray checker": (_retag(3, "checker"), "not right after an exercise cell"),
    "uses the answer later": (_insert(9, nbformat.v4.new_code_cell("print(my_shout('a'))")), "uses my_shout"),
    "server left running": (_insert(3, nbformat.v4.new_code_cell("server = start_server(app)")), "not stopped"),
}


@pytest.mark.parametrize(("mutate", "expected"), BREAKAGES.values(), ids=BREAKAGES.keys())
def test_each_departure_from_the_skeleton_is_reported(tmp_path, synthetic_checkers, mutate, expected):
    cells = lesson_cells()
    mutate(cells)
    problems = problems_of(tmp_path, cells)
    assert any(expected in p for p in problems), problems


def test_stopping_the_server_after_starting_it_is_fine(tmp_path, synthetic_checkers):
    cells = lesson_cells()
    cells.insert(3, nbformat.v4.new_code_cell("server = start_server(app)"))
    cells.insert(10, nbformat.v4.new_code_cell("stop_server()"))
    assert problems_of(tmp_path, cells) == []


def test_hand_written_or_missing_navigation_is_reported(tmp_path, synthetic_checkers):
    series = write_series(tmp_path / "notebooks", {"01": lesson_cells("01"), "02": lesson_cells("02")})
    nb = nbformat.read(series[0], as_version=4)
    nb.cells[0].source = "[Next](02-lesson.ipynb)"
    del nb.cells[-1]
    nbformat.write(nb, series[0])
    problems = skeleton_problems(series[0], series)
    assert any("expected exactly the first and the last cell" in p for p in problems), problems
    assert any("nav cell 0 is not the generated" in p for p in problems), problems


def test_the_cli_prints_problems_and_fails(tmp_path, synthetic_checkers, capsys):
    cells = lesson_cells()
    _retag(7)(cells)
    series = write_series(tmp_path / "notebooks", {"01": cells, "02": lesson_cells("02")})
    assert lesson.main(["check", *map(str, series)]) == 1
    assert re.search(r"01-lesson.ipynb: 1 exercise cell\(s\)", capsys.readouterr().out)
    good = write_series(tmp_path / "good", {"01": lesson_cells("01"), "02": lesson_cells("02")})
    assert lesson.main(["check", *map(str, good)]) == 0


# --- reading the title cell -------------------------------------------------------------------------------------


def test_read_lesson(tmp_path):
    [path] = write_series(tmp_path, {"04": lesson_cells("04", teaching=25, exercises=20)})
    found = read_lesson(path)
    assert (found.number, found.title) == ("04", "Synthetic lesson 04")
    assert found.subtitle == "A lesson made up for the tests."
    assert (found.teaching, found.exercises, found.minutes) == (25, 20, 45)
    assert found.objectives == ("Add one to a number.", "Shout a word, in capitals.")
    assert len(found.key_points) == 2


def test_underscore_subtitles_count_too(tmp_path):
    cells = lesson_cells()
    cells[0].source = cells[0].source.replace("*A lesson made up for the tests.*", "_Underscored._")
    [path] = write_series(tmp_path, {"01": cells})
    assert read_lesson(path).subtitle == "Underscored."


def test_read_lesson_refuses_a_notebook_without_a_title_cell(tmp_path):
    [path] = write_series(tmp_path, {"01": [nbformat.v4.new_code_cell("1")]})
    with pytest.raises(LessonFormatError, match="not a Markdown title cell"):
        read_lesson(path)


def test_bullets_after():
    heading = re.compile(r"^\*\*Objectives\*\*$")
    text = "**Objectives**\n\n- one\n  continued\n* two\n\nNot a bullet\n- three"
    assert bullets_after(text, heading) == ("one continued", "two")
    assert bullets_after("**Objectives**\nNo list.", heading) == ()
    assert bullets_after("Nothing here.", heading) is None


# --- the set-up check (00-…): the same skeleton, checks instead of exercises -------------------------------------


def setup_series(tmp_path, cells):
    return write_series(tmp_path / "notebooks", {"00": cells, "01": lesson_cells("01"), "02": lesson_cells("02")})


def test_a_setup_check_without_exercises_follows_the_skeleton(tmp_path, synthetic_checkers):
    series = setup_series(tmp_path, setup_cells())
    assert [skeleton_problems(path, series) for path in series] == [[], [], []]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (setup_cells(exercises=5), "0 exercise minutes"),
        (setup_cells(teaching=0), "0 exercise minutes"),
        ([*setup_cells()[:-1], *lesson_cells()[4:6], setup_cells()[-1]], "no exercises, checkers or solutions"),
    ],
    ids=["exercise minutes", "no teaching minutes", "an exercise"],
)
def test_a_setup_check_with_exercises_or_minutes_for_them_is_reported(
    tmp_path, synthetic_checkers, cells, expected
):
    series = setup_series(tmp_path, cells)
    problems = skeleton_problems(series[0], series)
    assert any(expected in p for p in problems), problems


def test_the_setup_check_leads_into_the_series_and_no_lesson_links_back(tmp_path):
    setup, first, second = setup_series(tmp_path, setup_cells())
    series = [setup, first, second]
    assert nav_markdown(setup, series) == (
        "[Index of the series](../README.md#series-map) · [01 · Synthetic lesson 01 →](01-lesson.ipynb)"
    )
    assert nav_markdown(first, series) == nav_markdown(first, [first, second])
    assert nav_markdown(first, series).startswith("[Index of the series]")


# --- central exercises: the stuck cell -----------------------------------------------------------------------

STUCK = "# from tutorial_src.login import login  # ← stuck? uncomment this line to use the reference and go on"


def _stuck_cell(source=STUCK):
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["stuck"]})


def _central(cells, *, stuck=STUCK):
    """The synthetic lesson whose first exercise defines ``login`` (a package name), its stuck cell after the
    checker, and a later cell that serves it."""
    for index in (4, 5):
        cells[index].source = cells[index].source.replace("my_add_one", "login")
    if stuck is not None:
        cells.insert(6, _stuck_cell(stuck))
    cells.insert(-1, nbformat.v4.new_code_cell("app = build_app(login_handler=login)"))
    return cells


def test_a_later_cell_may_use_a_central_exercise_swapped_by_its_stuck_line(tmp_path, synthetic_checkers):
    assert problems_of(tmp_path, _central(lesson_cells())) == []


@pytest.mark.parametrize(
    ("stuck", "expected"),
    [
        (None, "uses login, the learner's answer"),
        (STUCK.removeprefix("# "), "every line must be"),
        (STUCK.replace("import login", "import read_credentials"), "imports read_credentials, which the exercise"),
        (STUCK.replace("tutorial_src.login", "tutorial_src.views"), "tutorial_src.views has no login"),
        (STUCK.replace("tutorial_src.login", "tutorial_src.nowhere"), "there is no module tutorial_src.nowhere"),
    ],
    ids=["no stuck cell", "uncommented", "other name", "module without it", "no such module"],
)
def test_a_wrong_or_missing_stuck_line_is_reported(tmp_path, synthetic_checkers, stuck, expected):
    problems = problems_of(tmp_path, _central(lesson_cells(), stuck=stuck))
    assert any(expected in p for p in problems), problems


def test_a_stuck_cell_before_any_exercise_is_reported(tmp_path, synthetic_checkers):
    cells = lesson_cells()
    cells.insert(3, _stuck_cell())
    assert any("stuck cell" in p and "not after an exercise" in p for p in problems_of(tmp_path, cells))
