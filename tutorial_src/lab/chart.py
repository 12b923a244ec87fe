"""``bar_chart``: grouped bars on a log scale, as SVG text that Jupyter and GitHub both render.

Drawn from the numbers alone (no plotting library, no ids, no timestamps): the same numbers give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

#: One colour per series, in order (colour-blind safe: blue, orange, then green and purple).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7")
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 56, 40
FONT = 'font-family="sans-serif" font-size="12"'


@dataclass(frozen=True)
class BarChart:
    """Bars of ``values[group][i]`` for each ``series[i]``, grouped by ``group``, on a log-scale y axis."""

    values: Mapping[str, Sequence[float]]
    series: Sequence[str]
    title: str
    unit: str

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("no groups to draw")
        for group, numbers in self.values.items():
            if len(numbers) != len(self.series):
                raise ValueError(f"{group!r} has {len(numbers)} values for {len(self.series)} series")
            if not all(math.isfinite(n) and n > 0 for n in numbers):
                raise ValueError(f"{group!r}: a log scale needs positive finite numbers, not {list(numbers)}")
        if len(self.series) > len(PALETTE):
            raise ValueError(f"at most {len(PALETTE)} series, not {len(self.series)}")

    def decades(self) -> tuple[int, int]:
        """The powers of ten the y axis runs between: every value lies within them."""
        numbers = [n for row in self.values.values() for n in row]
        low, high = math.floor(math.log10(min(numbers))), math.ceil(math.log10(max(numbers)))
        return low, max(high, low + 1)

    def y(self, value: float) -> float:
        """The SVG y coordinate of ``value`` (the log scale: equal ratios are equal distances)."""
        low, high = self.decades()
        plot_height = HEIGHT - TOP - BOTTOM
        return HEIGHT - BOTTOM - (math.log10(value) - low) / (high - low) * plot_height

    def svg(self) -> str:
        """The chart as one ``<svg>`` element."""
        low, high = self.decades()
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
            f"<title>{escape(self.title)}</title>",
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
            f'<text x="{WIDTH / 2:g}" y="20" text-anchor="middle" {FONT} font-weight="bold">'
            f"{escape(self.title)}</text>",
        ]
        for power in range(low, high + 1):
            y = self.y(10.0**power)
            parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#dddddd"/>')
            parts.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{_decade_label(power)}</text>'
            )
        parts.append(
            f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2:g}" text-anchor="middle" {FONT} '
            f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2:g})">{escape(self.unit)}</text>'
        )
        group_width = (WIDTH - LEFT - RIGHT) / len(self.values)
        bar_width = group_width * 0.8 / len(self.series)
        for index, (group, numbers) in enumerate(self.values.items()):
            start = LEFT + index * group_width + group_width * 0.1
            for position, (name, value) in enumerate(zip(self.series, numbers, strict=True)):
                x, y = start + position * bar_width, self.y(value)
                label = quoteattr(f"{group} {name}: {value:.1f}")
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width - 2:.1f}" '
                    f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{PALETTE[position]}" aria-label={label}/>'
                )
                parts.append(
                    f'<text x="{x + (bar_width - 2) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                    f'font-family="sans-serif" font-size="10">{value:.1f}</text>'
                )
            parts.append(
                f'<text x="{LEFT + (index + 0.5) * group_width:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle" {FONT}>{escape(group)}</text>'
            )
        parts.append(
            f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#333333"/>'
        )
        for position, name in enumerate(self.series):
            x = WIDTH - RIGHT - 80 * (len(self.series) - position)
            parts.append(f'<rect x="{x}" y="{TOP - 26}" width="12" height="12" fill="{PALETTE[position]}"/>')
            parts.append(f'<text x="{x + 16}" y="{TOP - 16}" {FONT}>{escape(name)}</text>')
        parts.append("</svg>")
        return "\n".join(parts)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        # The plain-text view (a terminal, a screen reader): the numbers the bars stand for.
        rows = [self.title, f"{'':>8}" + "".join(f"{name:>12}" for name in self.series)]
        for group, numbers in self.values.items():
            rows.append(f"{group:>8}" + "".join(f"{value:>12.1f}" for value in numbers))
        return "\n".join(rows)


def _decade_label(power: int) -> str:
    return str(10**power) if power >= 0 else f"{10.0**power:g}"


def bar_chart(values: Mapping[str, Sequence[float]], series: Sequence[str], *, title: str, unit: str) -> BarChart:
    """A ``BarChart`` that Jupyter shows as SVG: ``values[group]`` holds one positive number per series.

    Raises:
        ValueError: a group has the wrong number of values, a value is not positive and finite, or there are
            no groups or too many series.
    """
    return BarChart(dict(values), tuple(series), title, unit)
