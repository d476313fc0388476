"""What every report gives: a table (for the page and the CSV) and the bars of its chart."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from propel.formatting import calendar_date


@dataclass(frozen=True)
class Report:
    key: str  # its address (report_csv) and its section's id
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    bars: list[tuple[str, float]] = field(default_factory=list)
    unit: str = ""  # of the bars: "%", " days" or ""
    note: str = ""  # how the numbers are counted, in one sentence
    clinical: bool = False

    @property
    def shown_rows(self) -> list[list[str]]:
        return [[shown(cell) for cell in row] for row in self.rows]


def percent(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide by."""
    if not whole:
        return None
    return round(float(Fraction(part * 100, whole)), 1)


def quantile(values: list[float], fraction: float) -> float | None:
    """The `fraction` quantile by linear interpolation (as PostgreSQL's percentile_cont), one
    decimal; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 1)


def shown(cell: Any) -> str:
    """A cell as the page shows it: dates in the clinic's format, no value as a dash."""
    if cell is None:
        return "\N{EN DASH}"
    if isinstance(cell, dt.date):
        return calendar_date(cell)
    return str(cell)
