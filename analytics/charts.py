"""Bar charts for the admin home page, drawn as inline SVG (no JavaScript, no CDN).

The geometry is computed here from a dashboard's per-day rows (a month: ~30 rows), so the
template only places rectangles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WIDTH = 600
HEIGHT = 120
GAP = 0.2  # of each day's slot


@dataclass(frozen=True)
class Bar:
    day: date
    value: int | Decimal
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    title: str
    total: int | Decimal
    peak: int | Decimal
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(title: str, points: Sequence[tuple[date, int | Decimal]]) -> BarChart:
    """One bar per day, scaled to the highest day (a chart of zeros has no visible bars)."""
    peak = max((value for _, value in points), default=0)
    slot = WIDTH / max(len(points), 1)
    bars = []
    for index, (day, value) in enumerate(points):
        height = round(float(value) / float(peak) * HEIGHT, 1) if peak else 0.0
        bars.append(Bar(day=day, value=value, x=round(index * slot + slot * GAP / 2, 1),
                        y=round(HEIGHT - height, 1), width=round(slot * (1 - GAP), 1), height=height))
    return BarChart(title=title, total=sum((value for _, value in points), 0), peak=peak, bars=tuple(bars))
