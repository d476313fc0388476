"""A small horizontal bar chart as SVG, server-rendered: no JavaScript, no inline styles. Pure:
labels and numbers in, escaped markup out (safe to mark safe). An image to assistive technology
(role="img", named by its <title>, described by its <desc>); the page shows the same numbers as a
table beside it."""

from __future__ import annotations

from collections.abc import Sequence

from intake.svg_chart import _n, _safe_id, _text

WIDTH = 640
LABEL_WIDTH = 270
BAR_HEIGHT = 16
GAP = 6
TOP = 4
VALUE_WIDTH = 70
MAX_BARS = 40
LABEL_CHARS = 42  # a chart of more bars is unreadable: the table has them all


def shorten(label: str) -> str:
    """A label that fits left of the bars (the table beside the chart has it whole)."""
    return (
        label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\N{HORIZONTAL ELLIPSIS}"
    )


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """Bars of `bars` (label, value >= 0), scaled to the largest (or 100 for percentages)."""
    shown = list(bars)[:MAX_BARS]
    height = TOP * 2 + max(len(shown), 1) * (BAR_HEIGHT + GAP)
    top = max([value for _, value in shown] + [100.0 if unit == "%" else 0.0, 1e-9])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    safe = _safe_id(chart_id)
    described = "; ".join(f"{label}: {_n(value)}{unit}" for label, value in shown) or "-"
    parts = [
        f'<svg class="report-chart img-fluid" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{safe}-title {safe}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{safe}-title">{_text(title)}</title>',
        f'<desc id="{safe}-desc">{_text(described)}</desc>',
    ]
    for index, (label, value) in enumerate(shown):
        y = TOP + index * (BAR_HEIGHT + GAP)
        length = max(value, 0) / top * span
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{_n(y + BAR_HEIGHT - 4)}" text-anchor="end" '
            f'font-size="12" fill="#212529">{_text(shorten(label))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{_n(y)}" width="{_n(length)}" height="{BAR_HEIGHT}" '
            f'fill="#0b5ed7"></rect>'
            f'<text x="{_n(LABEL_WIDTH + length + 4)}" y="{_n(y + BAR_HEIGHT - 4)}" '
            f'font-size="12" fill="#212529">{_text(_n(value) + unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
