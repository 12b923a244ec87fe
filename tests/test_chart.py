"""``bar_chart``: SVG drawn from the numbers alone, on a log scale, refusing what it cannot draw."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from tutorial_src.lab.chart import BOTTOM, HEIGHT, PALETTE, TOP, bar_chart

SVG = "{http://www.w3.org/2000/svg}"
TIMINGS = {"HS256": (22.1, 62.5), "RS256": (558.8, 127.0)}


def chart(values=TIMINGS, series=("sign", "verify")):
    return bar_chart(values, series, title="cost <of> signing & verifying", unit="µs per token")


def bars(svg: str) -> list[ET.Element]:
    return [rect for rect in ET.fromstring(svg).iter(f"{SVG}rect") if rect.get("aria-label")]


def test_the_same_numbers_give_the_same_bytes():
    assert chart().svg() == chart().svg()
    assert chart().svg() != chart({"HS256": (22.2, 62.5), "RS256": (558.8, 127.0)}).svg()


def test_it_is_well_formed_svg_with_the_title_escaped():
    root = ET.fromstring(chart().svg())
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "cost <of> signing & verifying"


def test_one_bar_per_value_coloured_by_series():
    found = bars(chart().svg())
    assert [bar.get("aria-label") for bar in found] == [
        "HS256 sign: 22.1",
        "HS256 verify: 62.5",
        "RS256 sign: 558.8",
        "RS256 verify: 127.0",
    ]
    assert [bar.get("fill") for bar in found] == [PALETTE[0], PALETTE[1]] * 2


def test_the_y_axis_is_logarithmic():
    drawn = chart()
    assert drawn.decades() == (1, 3)  # 10 to 1000 holds 22.1 ... 558.8
    assert drawn.y(10) == HEIGHT - BOTTOM
    assert drawn.y(1000) == TOP
    # Equal ratios are equal distances.
    assert math.isclose(drawn.y(20) - drawn.y(40), drawn.y(100) - drawn.y(200))
    heights = {bar.get("aria-label"): float(bar.get("height")) for bar in bars(drawn.svg())}
    assert heights["RS256 sign: 558.8"] > heights["RS256 verify: 127.0"] > heights["HS256 verify: 62.5"]


def test_values_within_one_decade_still_get_an_axis():
    assert chart({"a": (2.0, 3.0)}).decades() == (0, 1)
    assert chart({"a": (100.0, 100.0)}).decades() == (2, 3)


def test_a_plain_text_view_lists_the_numbers():
    text = repr(chart())
    assert text.splitlines()[0] == "cost <of> signing & verifying"
    assert "RS256       558.8       127.0" in text


def test_jupyter_gets_the_svg():
    assert chart()._repr_svg_() == chart().svg()


@pytest.mark.parametrize(
    ("values", "series", "problem"),
    [
        ({}, ("sign",), "no groups"),
        ({"a": (1.0,)}, ("sign", "verify"), "1 values for 2 series"),
        ({"a": (0.0,)}, ("sign",), "positive finite"),
        ({"a": (-1.0,)}, ("sign",), "positive finite"),
        ({"a": (math.inf,)}, ("sign",), "positive finite"),
        ({"a": (math.nan,)}, ("sign",), "positive finite"),
        ({"a": (1.0,) * 5}, ("s1", "s2", "s3", "s4", "s5"), "at most 4 series"),
    ],
)
def test_what_it_cannot_draw_is_refused(values, series, problem):
    with pytest.raises(ValueError, match=problem):
        chart(values, series)
