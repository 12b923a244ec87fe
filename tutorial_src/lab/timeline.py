"""``timeline``: lifetimes drawn as bars on a time axis, as SVG text that Jupyter and GitHub both render.

Notebook 07 draws with it how access tokens, refresh tokens and a session's absolute lifetime overlap, and how
long a token stays usable after logout. Drawn from the numbers alone (no plotting library, no ids, no
timestamps): the same numbers give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .chart import FONT, PALETTE

WIDTH = 720
LANE_HEIGHT = 26
LEFT, RIGHT, TOP, BOTTOM = 170, 24, 64, 36
#: About how wide a character of the 12-pixel sans-serif font is: room for the lane names and the legend.
CHARACTER_WIDTH = 7
SMALL_FONT = 'font-family="sans-serif" font-size="10"'


@dataclass(frozen=True)
class Span:
    """One bar: from ``start`` to ``end`` seconds on the row ``lane``, coloured by ``kind`` (named in the legend),
    with an optional ``label`` written inside it."""

    lane: str
    start: float
    end: float
    kind: str
    label: str = ""


@dataclass(frozen=True)
class Mark:
    """A moment every row shares (a login, a logout): a dashed vertical line at ``at`` seconds, labelled."""

    at: float
    label: str


def duration(seconds: float) -> str:
    """``0``, ``0.5 s``, ``45 s``, ``15 min``, ``1 h 30 min``, ``2 d``: a label in the largest units that fit."""
    if 0 < seconds < 1:  # a poll interval, say
        return f"{seconds:.3g} s"
    seconds = round(seconds)
    if seconds == 0:
        return "0"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts[:2])


@dataclass(frozen=True)
class Timeline:
    """Rows of ``spans`` (in the order their lanes first appear) on one time axis, ticked every ``tick``
    seconds, with ``marks`` across all rows."""

    spans: tuple[Span, ...]
    marks: tuple[Mark, ...]
    title: str
    tick: float

    def __post_init__(self) -> None:
        if not self.spans:
            raise ValueError("no spans to draw")
        for span in self.spans:
            if not (math.isfinite(span.start) and math.isfinite(span.end) and 0 <= span.start <= span.end):
                raise ValueError(f"{span.lane!r}: a span runs from 0 or later to no earlier than its start")
        if not all(math.isfinite(mark.at) and mark.at >= 0 for mark in self.marks):
            raise ValueError("a mark lies at 0 or later")
        if len(self.kinds) > len(PALETTE):
            raise ValueError(f"at most {len(PALETTE)} kinds, not {len(self.kinds)}")
        if not (math.isfinite(self.tick) and self.tick > 0):
            raise ValueError("tick must be a positive number of seconds")

    @property
    def lanes(self) -> list[str]:
        """The rows, top to bottom."""
        return list(dict.fromkeys(span.lane for span in self.spans))

    @property
    def kinds(self) -> list[str]:
        """The kinds of bar, in legend order; each gets the next colour of ``PALETTE``."""
        return list(dict.fromkeys(span.kind for span in self.spans))

    @property
    def end(self) -> float:
        """Where the axis ends: the last span or mark, rounded up to a whole tick."""
        last = max([span.end for span in self.spans] + [mark.at for mark in self.marks])
        return max(self.tick, math.ceil(last / self.tick) * self.tick)

    @property
    def height(self) -> int:
        return TOP + len(self.lanes) * LANE_HEIGHT + BOTTOM

    @property
    def left(self) -> float:
        """Where the time axis starts: ``LEFT``, or further right when a lane's name needs the room."""
        return max(LEFT, 16 + CHARACTER_WIDTH * max(len(lane) for lane in self.lanes))

    def x(self, seconds: float) -> float:
        """The SVG x coordinate of a time (a linear scale from 0 to ``end``)."""
        return self.left + seconds / self.end * (WIDTH - self.left - RIGHT)

    def svg(self) -> str:
        """The timeline as one ``<svg>`` element."""
        height, lanes, colours = self.height, self.lanes, dict(zip(self.kinds, PALETTE, strict=False))
        axis_y = height - BOTTOM
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img">',
            f"<title>{escape(self.title)}</title>",
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
            f'<text x="{WIDTH / 2:g}" y="20" text-anchor="middle" {FONT} font-weight="bold">'
            f"{escape(self.title)}</text>",
        ]
        for count in range(round(self.end / self.tick) + 1):
            x = self.x(count * self.tick)
            parts.append(f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#eeeeee"/>')
            parts.append(
                f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" {SMALL_FONT}>'
                f"{escape(duration(count * self.tick))}</text>"
            )
        for row, lane in enumerate(lanes):
            y = TOP + row * LANE_HEIGHT
            parts.append(
                f'<text x="{self.left - 8:g}" y="{y + LANE_HEIGHT / 2 + 4:g}" text-anchor="end" {FONT}>'
                f"{escape(lane)}</text>"
            )
        for span in self.spans:
            y = TOP + lanes.index(span.lane) * LANE_HEIGHT + 4
            x, width = self.x(span.start), self.x(span.end) - self.x(span.start)
            said = quoteattr(f"{span.lane}, {span.kind}: {duration(span.start)} to {duration(span.end)}")
            # A white edge keeps back-to-back bars (a token and its successor) apart.
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(width, 1.5):.1f}" height="{LANE_HEIGHT - 8}" '
                f'fill="{colours[span.kind]}" stroke="#ffffff" aria-label={said}/>'
            )
            if span.label:
                # Inside the bar when it fits (about 6 pixels a character), else in black just after it, or just
                # before it when the picture ends first.
                needs = 6 * len(span.label) + 8
                after = x + max(width, 1.5) + 4
                if width >= needs:
                    where, colour, anchor = x + 4, "#ffffff", "start"
                elif after + needs <= WIDTH:
                    where, colour, anchor = after, "#333333", "start"
                else:
                    where, colour, anchor = x - 4, "#333333", "end"
                parts.append(
                    f'<text x="{where:.1f}" y="{y + LANE_HEIGHT / 2:g}" text-anchor="{anchor}" {SMALL_FONT} '
                    f'fill="{colour}">{escape(span.label)}</text>'
                )
        for mark in self.marks:
            x = self.x(mark.at)
            parts.append(
                f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{axis_y}" stroke="#333333" '
                'stroke-dasharray="4 3"/>'
            )
            parts.append(
                f'<text x="{x:.1f}" y="{TOP - 12}" text-anchor="middle" {SMALL_FONT}>{escape(mark.label)}</text>'
            )
        parts.append(
            f'<line x1="{self.left:g}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#333333"/>'
        )
        x = 16
        for kind in self.kinds:  # the legend, left to right, each entry as wide as its name
            parts.append(f'<rect x="{x}" y="30" width="12" height="12" fill="{colours[kind]}"/>')
            parts.append(f'<text x="{x + 16}" y="40" {FONT}>{escape(kind)}</text>')
            x += 16 + CHARACTER_WIDTH * len(kind) + 20
        parts.append("</svg>")
        return "\n".join(parts)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        # The plain-text view (a terminal, a screen reader): each bar's row, kind and times.
        rows = [self.title]
        rows += [
            f"{span.lane:<28} {span.kind:<24} {duration(span.start):>10} to {duration(span.end)}"
            for span in self.spans
        ]
        rows += [f"{'':<28} {'| ' + mark.label:<24} {duration(mark.at):>10}" for mark in self.marks]
        return "\n".join(rows)


def timeline(spans: Iterable[Span], marks: Iterable[Mark] = (), *, title: str, tick: float) -> Timeline:
    """A ``Timeline`` that Jupyter shows as SVG: each ``Span`` a bar on its lane, each ``Mark`` a line across.

    Raises:
        ValueError: no spans, a span that ends before it starts or starts before 0, a mark before 0, more kinds
            than ``PALETTE`` has colours, or a tick that is not a positive number of seconds.
    """
    return Timeline(tuple(spans), tuple(marks), title, tick)
