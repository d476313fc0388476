"""A small server-rendered line chart as SVG: no JavaScript, no library, no inline styles.

Pure: numbers and text in, markup out. Every piece of text is XML-escaped and every number is
formatted here, so the result is safe to mark safe in a template. The chart is an image to
assistive technology (role="img", named by its <title> and described by its <desc>); the page
gives the same values as a table beside it.

Time runs to the right at a constant rate: a point sits at its date, so the gaps between visits
read true (bunched during an induction, thinned out in maintenance). The date axis has evenly
spaced ticks (`date_ticks`: a step of days or weeks chosen from the span, never one tick per
measurement). A single measurement is a point with its value and no line. Threshold bands (an
instrument's severity bands) are shaded and labelled at the right.

Built from small pure pieces, each testable alone: the scales (`YScale`, `XScale`), the date
ticks (`date_ticks`), the series path (`polyline_points`), and the parts of the picture (`bands`,
`axes`, `reference_lines`, `series`, `legend_rows`), each a list of SVG fragments; `line_chart`
puts them together.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 660
HEIGHT = 290
LEFT, RIGHT, TOP = 52, 156, 14  # the right margin holds the band labels
PLOT_BOTTOM = 206
PAD = 14  # between the plot's edges and the first and last points
MAX_X_TICKS = 8
# Tick steps in days, smallest first: every step is a whole number of days, so ticks are evenly
# spaced in time (months are not: 28 to 31 days). Steps of a week or more start on a Monday.
TICK_STEPS_DAYS = (1, 2, 7, 14, 28, 56, 91, 182, 364)

# Point markers and reference lines, each with a class for CSS and a look (shape, dash pattern)
# that does not rely on colour alone.
RESPONSE, REMISSION = "response", "remission"
BASELINE_LINE, RESPONSE_LINE, REMISSION_LINE = "baseline", "response-line", "remission-line"
LINE_DASH = {BASELINE_LINE: "6 4", RESPONSE_LINE: "2 3", REMISSION_LINE: "10 3 2 3"}
LINE_COLOUR = {BASELINE_LINE: "#495057", RESPONSE_LINE: "#146c43", REMISSION_LINE: "#6f42c1"}
MARKER_COLOUR = {RESPONSE: "#146c43", REMISSION: "#6f42c1"}
SERIES_COLOUR = "#0b5ed7"
BAND_FILLS = ("#f8f9fa", "#e9ecef")  # alternate, so neighbouring bands stay apart
BAND_LABEL_COLOUR = "#495057"


@dataclass(frozen=True)
class ChartPoint:
    day: dt.date  # where it sits on the time axis
    label: str  # its date in words (data-label)
    value: float
    title: str  # the point's tooltip: its date, value and markers in words
    markers: tuple[str, ...] = ()  # RESPONSE, REMISSION
    note: str = ""  # written beside the point (e.g. "Baseline 14")


@dataclass(frozen=True)
class Band:
    """A threshold band: scores from `low` to `high` (inclusive, whole numbers) share `label`."""

    low: float
    high: float
    label: str


@dataclass(frozen=True)
class ReferenceLine:
    value: float
    label: str
    kind: str  # BASELINE_LINE, RESPONSE_LINE or REMISSION_LINE


def _text(value: object) -> str:
    return escape(str(value), {'"': "&quot;", "'": "&#x27;"})


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no trailing ".0"."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.1f}"


def _safe_id(chart_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id) or "chart"
    return cleaned if cleaned[0].isalpha() else f"c-{cleaned}"


def date_ticks(first: dt.date, last: dt.date, most: int = MAX_X_TICKS) -> list[dt.date]:
    """Evenly spaced dates from on or before `first` to on or after `last`: the smallest step of
    TICK_STEPS_DAYS (or a multiple of 364) that needs at most `most` ticks. A step of a week or
    more starts on the Monday on or before `first`. One date alone is its own tick."""
    if last < first:
        first, last = last, first
    if first == last:
        return [first]
    most = max(2, most)
    steps = itertools.chain(TICK_STEPS_DAYS, (364 * n for n in itertools.count(2)))
    for step in steps:
        start = first if step < 7 else first - dt.timedelta(days=first.weekday())
        count = math.ceil((last - start).days / step) + 1
        if count <= most:
            return [start + dt.timedelta(days=step * n) for n in range(count)]
    raise AssertionError("unreachable: the steps grow without bound")  # pragma: no cover


@dataclass(frozen=True)
class XScale:
    """Date to x coordinate, linear in days between the first and the last tick; a span of one
    day puts everything in the middle."""

    start: dt.date
    end: dt.date

    def __call__(self, day: dt.date) -> float:
        if self.end <= self.start:
            return MIDDLE_X
        span = PLOT_RIGHT - LEFT - 2 * PAD
        return LEFT + PAD + span * (day - self.start).days / (self.end - self.start).days


def spread(ys: list[float], gap: float, low: float, high: float) -> list[float]:
    """Nudge label positions (sorted top to bottom) apart so none overlap, within [low, high]."""
    placed: list[float] = []
    for y in ys:
        y = max(low, min(high, y))
        if placed and y < placed[-1] + gap:
            y = placed[-1] + gap
        placed.append(y)
    overflow = placed[-1] - high if placed else 0
    if overflow > 0:
        placed = [y - overflow for y in placed]
    return placed


def point_shape(x: float, y: float, markers: Iterable[str]) -> str:
    markers = set(markers)
    parts = []
    if REMISSION in markers:
        parts.append(
            f'<rect class="marker-remission" x="{_n(x - 5)}" y="{_n(y - 5)}" width="10" '
            f'height="10" fill="{MARKER_COLOUR[REMISSION]}"/>'
        )
    else:
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4.5" fill="{SERIES_COLOUR}"/>')
    if RESPONSE in markers:
        parts.append(
            f'<circle class="marker-response" cx="{_n(x)}" cy="{_n(y)}" r="9" fill="none" '
            f'stroke="{MARKER_COLOUR[RESPONSE]}" stroke-width="2"/>'
        )
    return "".join(parts)


PLOT_RIGHT = WIDTH - RIGHT
MIDDLE_X = (LEFT + PLOT_RIGHT) / 2
MIDDLE_Y = (TOP + PLOT_BOTTOM) / 2


@dataclass(frozen=True)
class YScale:
    """Value to y coordinate: y_min at the plot's bottom, y_max at its top; values outside the
    range are drawn at the nearest edge."""

    y_min: float
    y_max: float

    def __post_init__(self) -> None:
        if self.y_max <= self.y_min:
            raise ValueError("y_max must be above y_min")

    def __call__(self, value: float) -> float:
        value = max(self.y_min, min(self.y_max, value))
        return PLOT_BOTTOM - (value - self.y_min) / (self.y_max - self.y_min) * (PLOT_BOTTOM - TOP)

    def contains(self, value: float) -> bool:
        return self.y_min <= value <= self.y_max


def polyline_points(coordinates: Iterable[tuple[float, float]]) -> str:
    """The `points` attribute of a polyline through these (x, y) coordinates."""
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in coordinates)


def legend_rows(entries: Sequence[tuple[str, str]], top: float) -> tuple[list[str], float]:
    """Legend entries (kind, label) laid out in rows under the axis labels; and the baseline of
    the last row."""
    parts = ['<g class="chart-legend">']
    x, y = float(LEFT), top
    for kind, label in entries:
        width = 30 + 6.2 * len(label) + 16
        if x + width > WIDTH and x > LEFT:
            x, y = float(LEFT), y + 18
        parts.append(legend_key(kind, x, y))
        parts.append(
            f'<text x="{_n(x + 30)}" y="{_n(y)}" font-size="12" fill="currentColor">'
            f"{_text(label)}</text>"
        )
        x += width
    parts.append("</g>")
    return parts, y


def legend_key(kind: str, x: float, y: float) -> str:
    """The sample drawn before a legend label: a dashed line for a reference line, else the
    point's shape with its marker."""
    if kind in LINE_DASH:
        return (
            f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 24)}" y2="{_n(y - 4)}" '
            f'stroke="{LINE_COLOUR[kind]}" stroke-width="2" '
            f'stroke-dasharray="{LINE_DASH[kind]}"/>'
        )
    markers = (kind,) if kind in (RESPONSE, REMISSION) else ()
    return point_shape(x + 12, y - 4, markers)


def svg_open(
    cid: str, *, height: int, title: str, description: str, described_by: str = ""
) -> list[str]:
    """The opening <svg> tag, named by its <title> and described by its <desc> and, when given,
    the element `described_by` (the table with the same values)."""
    describers = " ".join(
        filter(None, [f"{cid}-desc", _safe_id(described_by) if described_by else ""])
    )
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="outcome-chart" id="{cid}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{cid}-title" '
        f'aria-describedby="{describers}" font-family="system-ui, sans-serif">',
        f'<title id="{cid}-title">{_text(title)}</title>',
        f'<desc id="{cid}-desc">{_text(description)}</desc>',
    ]


def tick_marks(ticks: Iterable[float], scale: YScale) -> list[str]:
    """A grid line and a label for each tick inside the range, lowest first."""
    out = []
    for tick in sorted(set(ticks)):
        if not scale.contains(tick):
            continue
        y = scale(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{_n(y)}" x2="{PLOT_RIGHT}" y2="{_n(y)}" stroke="#dee2e6" '
            'stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{_n(y + 4)}" font-size="12" text-anchor="end">'
            f"{_text(_n(tick))}</text>"
        )
    return out


def date_tick_marks(
    ticks: Sequence[dt.date], scale: XScale, tick_label: Callable[[dt.date], str]
) -> list[str]:
    """A short tick and a label under the x axis for each date tick."""
    out = []
    for day in ticks:
        x = _n(scale(day))
        out.append(
            f'<line class="x-tick" x1="{x}" y1="{PLOT_BOTTOM}" x2="{x}" y2="{PLOT_BOTTOM + 5}" '
            'stroke="currentColor" stroke-width="1"/>'
        )
        out.append(
            f'<text class="x-tick-label" x="{x}" y="{PLOT_BOTTOM + 18}" font-size="12" '
            f'text-anchor="middle">{_text(tick_label(day))}</text>'
        )
    return out


def axis_titles(x_label: str, y_label: str) -> list[str]:
    out = []
    if x_label:
        out.append(
            f'<text x="{_n(MIDDLE_X)}" y="{PLOT_BOTTOM + 36}" font-size="12" '
            f'text-anchor="middle">{_text(x_label)}</text>'
        )
    if y_label:
        out.append(
            f'<text x="14" y="{_n(MIDDLE_Y)}" font-size="12" text-anchor="middle" '
            f'transform="rotate(-90 14 {_n(MIDDLE_Y)})">{_text(y_label)}</text>'
        )
    return out


def axes(
    scale: YScale,
    *,
    ticks: Iterable[float],
    x_scale: XScale,
    x_ticks: Sequence[dt.date],
    tick_label: Callable[[dt.date], str],
    x_label: str = "",
    y_label: str = "",
) -> list[str]:
    """The axes group: tick grid and labels, the two axis lines, date ticks and axis titles."""
    return [
        '<g class="chart-axes" fill="currentColor">',
        *tick_marks(ticks, scale),
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{PLOT_BOTTOM}" stroke="currentColor" '
        'stroke-width="1"/>',
        f'<line x1="{LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}" '
        'stroke="currentColor" stroke-width="1"/>',
        *date_tick_marks(x_ticks, x_scale, tick_label),
        *axis_titles(x_label, y_label),
        "</g>",
    ]


def bands(drawn: Sequence[Band], scale: YScale) -> list[str]:
    """Each band shaded from half a point below its lowest score to half a point above its
    highest (scores are whole numbers), labelled at the right with its name and range; labels
    nudged apart (`spread`)."""
    if not drawn:
        return []
    ordered = sorted(drawn, key=lambda band: -band.high)
    out = ['<g class="chart-bands">']
    tops = [scale(min(scale.y_max, band.high + 0.5)) for band in ordered]
    bottoms = [scale(max(scale.y_min, band.low - 0.5)) for band in ordered]
    label_ys = spread(
        [(t + b) / 2 + 4 for t, b in zip(tops, bottoms, strict=True)], 13, TOP + 8, PLOT_BOTTOM
    )
    for index, (band, top, bottom, label_y) in enumerate(
        zip(ordered, tops, bottoms, label_ys, strict=True)
    ):
        out.append(
            f'<rect class="band" x="{LEFT}" y="{_n(top)}" width="{PLOT_RIGHT - LEFT}" '
            f'height="{_n(bottom - top)}" fill="{BAND_FILLS[index % 2]}"/>'
        )
        out.append(
            f'<text class="band-label" x="{PLOT_RIGHT + 6}" y="{_n(label_y)}" font-size="11" '
            f'fill="{BAND_LABEL_COLOUR}">{_text(band.label)}</text>'
        )
    out.append("</g>")
    return out


def reference_lines(lines: Sequence[ReferenceLine], scale: YScale) -> list[str]:
    """Dashed horizontal lines, each labelled just above its right end inside the plot, labels
    nudged apart (`spread`); lines of an unknown kind are left out."""
    drawn = sorted(
        (line for line in lines if line.kind in LINE_DASH), key=lambda ref: scale(ref.value)
    )
    if not drawn:
        return []
    out = ['<g class="chart-reference-lines">']
    label_ys = spread([scale(line.value) - 3 for line in drawn], 13, TOP + 10, PLOT_BOTTOM - 3)
    for line, label_y in zip(drawn, label_ys, strict=True):
        y = scale(line.value)
        out.append(
            f'<line class="line-{line.kind}" x1="{LEFT}" y1="{_n(y)}" x2="{PLOT_RIGHT}" '
            f'y2="{_n(y)}" stroke="{LINE_COLOUR[line.kind]}" stroke-width="1.5" '
            f'stroke-dasharray="{LINE_DASH[line.kind]}"/>'
        )
        out.append(
            f'<text x="{PLOT_RIGHT - 4}" y="{_n(label_y)}" font-size="11" text-anchor="end" '
            f'fill="{LINE_COLOUR[line.kind]}">{_text(line.label)}</text>'
        )
    out.append("</g>")
    return out


def point_note(x: float, y: float, note: str) -> str:
    """Text beside a point (its value, "Baseline 14"): above it, or below near the top."""
    below = y < TOP + 18
    return (
        f'<text class="point-note" x="{_n(x)}" y="{_n(y + 20 if below else y - 10)}" '
        f'font-size="12" font-weight="600" text-anchor="middle" fill="currentColor">'
        f"{_text(note)}</text>"
    )


def series(
    points: Sequence[ChartPoint], x_scale: XScale, scale: YScale, *, empty_text: str = ""
) -> list[str]:
    """The line through the points (none for a single point) and each point with its tooltip,
    markers and note; with no points, `empty_text` in the middle of the plot."""
    if not points:
        return [
            f'<text x="{_n(MIDDLE_X)}" y="{_n(MIDDLE_Y)}" '
            f'font-size="14" text-anchor="middle" fill="currentColor">{_text(empty_text)}</text>'
        ]
    coordinates = [(x_scale(point.day), scale(point.value)) for point in points]
    out = []
    if len(coordinates) > 1:
        out.append(
            f'<polyline class="series-line" points="{polyline_points(coordinates)}" fill="none" '
            f'stroke="{SERIES_COLOUR}" stroke-width="2"/>'
        )
    out.append('<g class="series-points">')
    for (x, y), point in zip(coordinates, points, strict=True):
        classes = " ".join(["point", *(f"point-{m}" for m in point.markers)])
        out.append(
            f'<g class="{_text(classes)}" data-label="{_text(point.label)}" '
            f'data-value="{_text(_n(point.value))}"><title>{_text(point.title)}</title>'
            f"{point_shape(x, y, point.markers)}"
            f"{point_note(x, y, point.note) if point.note else ''}</g>"
        )
    out.append("</g>")
    return out


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[ChartPoint],
    y_min: float,
    y_max: float,
    y_ticks: Iterable[float] = (),
    threshold_bands: Sequence[Band] = (),
    lines: Sequence[ReferenceLine] = (),
    legend: Sequence[tuple[str, str]] = (),
    x_label: str = "",
    y_label: str = "",
    empty_text: str = "",
    described_by: str = "",
    tick_label: Callable[[dt.date], str] = dt.date.isoformat,
    max_x_ticks: int = MAX_X_TICKS,
) -> str:
    """The chart as one <svg> element (a string). Points sit at their dates (in any order given;
    the line joins them in date order). `legend` entries are (kind, label), where kind is a
    reference line's kind, a marker (RESPONSE, REMISSION) or "point" (a plain point). Values
    outside [y_min, y_max] are drawn at the nearest edge. `described_by` names the element (a
    table) that gives the same values in text."""
    scale = YScale(y_min, y_max)
    points = sorted(points, key=lambda point: point.day)
    x_ticks = date_ticks(points[0].day, points[-1].day, max_x_ticks) if points else []
    x_scale = XScale(x_ticks[0], x_ticks[-1]) if x_ticks else XScale(dt.date.min, dt.date.min)
    legend_parts, legend_bottom = (
        legend_rows(legend, PLOT_BOTTOM + (58 if x_label else 40)) if legend else ([], 0.0)
    )
    return "".join(
        [
            *svg_open(
                _safe_id(chart_id),
                height=max(HEIGHT, math.ceil(legend_bottom + 10)),
                title=title,
                description=description,
                described_by=described_by,
            ),
            *bands(threshold_bands, scale),
            *axes(
                scale,
                ticks=y_ticks,
                x_scale=x_scale,
                x_ticks=x_ticks,
                tick_label=tick_label,
                x_label=x_label,
                y_label=y_label,
            ),
            *reference_lines(lines, scale),
            *series(points, x_scale, scale, empty_text=empty_text),
            *legend_parts,
            "</svg>",
        ]
    )
