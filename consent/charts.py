"""Geometry of a stacked bar chart, drawn as inline SVG by a template (no JavaScript)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    css: str
    label: str
    value: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    label: str
    sublabel: str
    total: int
    x: float
    width: float
    segments: tuple[Segment, ...]

    @property
    def centre(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def top(self) -> float:
        return min((s.y for s in self.segments if s.value), default=0.0)


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    baseline: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Column:
    label: str
    sublabel: str
    # (css class, label, value), drawn bottom up.
    values: tuple[tuple[str, str, int], ...]


def nice_step(maximum: int, ticks: int = 4) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... that splits 0..maximum in at most `ticks`."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if maximum <= step * ticks:
                return step
        magnitude *= 10


def stacked_bars(columns: Sequence[Column], *, width: int = 720, height: int = 260) -> BarChart:
    left, right, top, bottom = 44, width - 8, 24, height - 44
    highest = max((sum(v for *_, v in c.values) for c in columns), default=0)
    step = nice_step(highest or 1)
    scale_max = step * max(1, math.ceil(highest / step))
    plot = bottom - top
    slot = (right - left) / max(len(columns), 1)
    bar_width = round(slot * 0.6, 1)
    bars = []
    for index, column in enumerate(columns):
        y = float(bottom)
        segments = []
        for css, label, value in column.values:
            h = round(plot * value / scale_max, 1)
            y = round(y - h, 1)
            segments.append(Segment(css, label, value, y, h))
        bars.append(
            Bar(
                column.label,
                column.sublabel,
                sum(v for *_, v in column.values),
                round(left + slot * index + (slot - bar_width) / 2, 1),
                bar_width,
                tuple(segments),
            )
        )
    ticks = tuple(
        Tick(value, round(bottom - plot * value / scale_max, 1))
        for value in range(0, scale_max + 1, step)
    )
    return BarChart(width, height, left, right, bottom, tuple(bars), ticks)
