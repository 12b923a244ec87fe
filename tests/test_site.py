"""authoring.site: what the website's pages make of a notebook (the Sphinx build itself runs in `make site`)."""

from __future__ import annotations

import nbformat
import pytest
from lesson_factory import lesson_cells, write_series
from notebook_helpers import NOTEBOOKS, ROOT

from authoring import site
from authoring.nbtools import NAV_TAG
from authoring.site import HIDE_INPUT_TAG, SHOW_SOLUTION, index_page, site_markdown, site_notebook, write_sources
from authoring.student import BEGIN_SOLUTION, EXERCISE_TAG


@pytest.fixture
def lesson(tmp_path):
    [path, _] = write_series(tmp_path / "notebooks", {"01": lesson_cells("01"), "02": lesson_cells("02")})
    return path


def page_of(path, repository=""):
    nb = nbformat.read(path, as_version=4)
    return site_notebook(nb, path, {p.resolve() for p in path.parent.iterdir()}, repository)


def test_navigation_cells_leave_the_page(lesson):
    page = page_of(lesson)
    assert not [c for c in page.cells if NAV_TAG in c.metadata.get("tags", [])]
    assert nbformat.read(lesson, as_version=4).cells[0].metadata["tags"] == [NAV_TAG], "the notebook is untouched"


def test_each_exercise_shows_the_stub_then_the_solution_folded(lesson):
    page = page_of(lesson)
    exercises = [i for i, c in enumerate(page.cells) if EXERCISE_TAG in c.metadata.get("tags", [])]
    assert len(exercises) == 2
    for i in exercises:
        stub, solution = page.cells[i - 1], page.cells[i]
        assert stub.cell_type == "markdown" and stub.source.startswith("**Your turn.**")
        assert 'raise NotImplementedError("use the + operator.")' in stub.source or "str.upper()" in stub.source
        assert BEGIN_SOLUTION not in stub.source
        assert HIDE_INPUT_TAG in solution.metadata["tags"] and solution.metadata["mystnb"] == SHOW_SOLUTION
        assert "return" in solution.source and BEGIN_SOLUTION not in solution.source
    nbformat.validate(page)


def test_a_written_answer_is_folded_in_a_dropdown(lesson):
    page = page_of(lesson)
    [shouting] = [c for c in page.cells if c.source.startswith("## 2. Shouting")]
    assert shouting.source.endswith(":::{dropdown} Solution\nShouting is loud.\n:::")


@pytest.mark.parametrize(
    ("markdown", "repository", "expected"),
    [
        ("[next](02-lesson.ipynb#top)", "", "[next](02-lesson.ipynb#top)"),
        ("[Index](../README.md#series-map)", "", "[Index](../index.md)"),
        ("see [the guide](../docs/instructor-guide.md).", "", "see the guide."),
        (
            "see [the guide](../docs/instructor-guide.md#timing).",
            "https://github.com/o/r/",
            "see [the guide](https://github.com/o/r/blob/HEAD/docs/instructor-guide.md#timing).",
        ),
        (
            "[RFC 7519](https://www.rfc-editor.org/rfc/rfc7519)",
            "",
            "[RFC 7519](https://www.rfc-editor.org/rfc/rfc7519)",
        ),
    ],
)
def test_links_point_at_pages_the_index_or_the_repository(markdown, repository, expected):
    source = ROOT / "notebooks"
    pages = {(source / "02-lesson.ipynb").resolve()}
    assert site_markdown(markdown, source, pages, repository) == expected


def test_the_index_is_the_readme_introduction_the_series_map_and_the_contents():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = index_page(NOTEBOOKS, readme)
    assert page.startswith(readme.split("\n", 1)[0])
    assert "## What you will learn" in page
    assert "[01 · Log in and get a token](notebooks/01-login.ipynb)" in page
    assert page.rstrip().endswith("\n".join(f"notebooks/{p.stem}" for p in NOTEBOOKS) + "\n```")


def test_the_sources_mirror_the_repository(tmp_path):
    write_sources(NOTEBOOKS, tmp_path / "src", "")
    assert sorted(p.name for p in (tmp_path / "src" / "notebooks").iterdir()) == [p.name for p in NOTEBOOKS]
    assert (tmp_path / "src" / "index.md").is_file()


def test_the_repository_address_starts_empty_and_comes_from_conf_py(monkeypatch):
    monkeypatch.delenv("SITE_REPOSITORY_URL", raising=False)
    assert site.repository_url() == ""
    monkeypatch.setenv("SITE_REPOSITORY_URL", "https://github.com/o/r")
    assert site.repository_url() == "https://github.com/o/r"
