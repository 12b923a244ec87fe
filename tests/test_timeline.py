"""``timeline``: lifetimes as SVG bars drawn from the numbers alone, refusing what it cannot draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tutorial_src.lab.chart import PALETTE
from tutorial_src.lab.timeline import LEFT, RIGHT, WIDTH, Mark, Span, duration, timeline

SVG = "{http://www.w3.org/2000/svg}"
SPANS = [
    Span("access token 1", 0, 900, "access token", "A1"),
    Span("refresh token 1", 0, 600, "refresh token"),
    Span("access token 2", 600, 1500, "access token", "A2"),
]


REFRESH = (Mark(600, "refresh"),)


def drawn(spans=SPANS, marks=REFRESH):
    return timeline(spans, marks, title="a <session> & its tokens", tick=300)


def bars(svg: str) -> list[ET.Element]:
    return [rect for rect in ET.fromstring(svg).iter(f"{SVG}rect") if rect.get("aria-label")]


def test_the_same_numbers_give_the_same_bytes():
    assert drawn().svg() == drawn().svg()
    assert drawn().svg() != drawn(marks=(Mark(601, "refresh"),)).svg()


def test_it_is_well_formed_svg_with_the_title_escaped():
    root = ET.fromstring(drawn().svg())
    assert root.find(f"{SVG}title").text == "a <session> & its tokens"
    assert drawn()._repr_svg_() == drawn().svg()


def test_one_bar_per_span_on_its_lane_coloured_by_kind():
    found = bars(drawn().svg())
    assert [bar.get("aria-label") for bar in found] == [
        "access token 1, access token: 0 to 15 min",
        "refresh token 1, refresh token: 0 to 10 min",
        "access token 2, access token: 10 min to 25 min",
    ]
    assert [bar.get("fill") for bar in found] == [PALETTE[0], PALETTE[1], PALETTE[0]]
    assert [float(bar.get("y")) for bar in found] == sorted(float(bar.get("y")) for bar in found)
    assert drawn().lanes == ["access token 1", "refresh token 1", "access token 2"]


def test_the_axis_is_linear_and_ends_on_a_whole_tick():
    line = drawn()
    assert line.end == 1500
    assert line.x(0) == LEFT and line.x(1500) == WIDTH - RIGHT
    assert line.x(750) == (LEFT + WIDTH - RIGHT) / 2
    assert timeline([Span("a", 0, 1000, "k")], title="t", tick=300).end == 1200
    assert timeline([Span("a", 0, 10, "k")], [Mark(2000, "late")], title="t", tick=600).end == 2400


def test_the_text_view_lists_every_span_and_mark():
    text = repr(drawn())
    assert text.splitlines()[0] == "a <session> & its tokens"
    assert "refresh token 1" in text and "10 min to 25 min" in text and "| refresh" in text


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0"),
        (0.5, "0.5 s"),
        (45, "45 s"),
        (900, "15 min"),
        (5400, "1 h 30 min"),
        (172800, "2 d"),
        (90061, "1 d 1 h"),
    ],
)
def test_duration(seconds, said):
    assert duration(seconds) == said


@pytest.mark.parametrize(
    ("spans", "marks", "tick", "problem"),
    [
        ([], (), 60, "no spans"),
        ([Span("a", 10, 5, "k")], (), 60, "a span runs"),
        ([Span("a", -1, 5, "k")], (), 60, "a span runs"),
        ([Span("a", 0, float("inf"), "k")], (), 60, "a span runs"),
        ([Span("a", 0, 5, "k")], (Mark(-1, "x"),), 60, "a mark"),
        ([Span("a", 0, 5, f"k{n}") for n in range(len(PALETTE) + 1)], (), 60, "kinds"),
        ([Span("a", 0, 5, "k")], (), 0, "tick"),
    ],
)
def test_what_cannot_be_drawn_is_refused(spans, marks, tick, problem):
    with pytest.raises(ValueError, match=problem):
        timeline(spans, marks, title="t", tick=tick)


def test_a_label_goes_inside_its_bar_when_it_fits_else_after_it_or_before_it():
    line = timeline(
        [
            Span("a", 0, 1200, "k", "fits inside"),
            Span("b", 0, 1, "k", "a label too long for its bar"),
            Span("c", 1100, 1200, "k", "no room after this bar"),
        ],
        title="t",
        tick=300,
    )
    texts = {text.text: text for text in ET.fromstring(line.svg()).iter(f"{SVG}text")}
    assert texts["fits inside"].get("fill") == "#ffffff"
    assert float(texts["fits inside"].get("x")) == LEFT + 4
    assert texts["a label too long for its bar"].get("fill") == "#333333"
    assert float(texts["a label too long for its bar"].get("x")) > line.x(1)
    before = texts["no room after this bar"]
    assert before.get("text-anchor") == "end" and float(before.get("x")) < line.x(1100)


def test_a_long_lane_name_moves_the_axis_right():
    short = timeline([Span("a", 0, 60, "k")], title="t", tick=60)
    long = timeline([Span("a lane whose name is long enough to need more room", 0, 60, "k")], title="t", tick=60)
    assert short.left == LEFT
    assert long.left > LEFT and long.x(0) == long.left and long.x(60) == WIDTH - RIGHT
