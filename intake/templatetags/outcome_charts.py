"""{% outcome_chart series %}: one measure's series (intake.outcomes) as an SVG line chart
(intake.svg_chart), with translated labels and clinic-formatted dates (propel.formatting; the
date axis alone uses the short "Jan 4", with the year when the chart spans two)."""

from __future__ import annotations

from fractions import Fraction

from django import template
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from intake.models import SubmissionKind
from intake.outcomes import Point, Series
from intake.svg_chart import (
    BASELINE_LINE,
    REMISSION,
    REMISSION_LINE,
    RESPONSE,
    RESPONSE_LINE,
    Band,
    ChartPoint,
    ReferenceLine,
    line_chart,
)
from propel import formatting

register = template.Library()


def score_text(value: Fraction | int | float) -> str:
    """7.5 for 15/2, 10 for 10: how a threshold reads."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.1f}"


def _day(point: Point) -> str:
    return formatting.local_date(point.day)


def _point_words(point: Point) -> list[str]:
    words = [f"{point.score}, {point.band}" if point.band else str(point.score)]
    if point.is_baseline:
        words.append(_("baseline"))
    if point.response:
        words.append(_("response"))
    if point.remission:
        words.append(_("remission"))
    return words


def point_title(point: Point) -> str:
    kind = SubmissionKind(point.kind).label if point.kind in SubmissionKind.values else point.kind
    return f"{_day(point)} ({kind}): {'; '.join(_point_words(point))}"


def describe(series: Series) -> str:
    """The chart's <desc>: what it shows, in one short paragraph."""
    name = str(series.measure.name)
    points = series.points
    if not points:
        return _("%(name)s: no scores yet.") % {"name": name}
    sentences = [
        _("%(name)s, %(count)d scores from %(first)s to %(last)s.")
        % {"name": name, "count": len(points), "first": _day(points[0]), "last": _day(points[-1])}
    ]
    if series.baseline is not None:
        sentences.append(_("Baseline %(score)d.") % {"score": series.baseline})
    latest = points[-1]
    sentences.append(
        _("Latest %(score)d (%(band)s).") % {"score": latest.score, "band": latest.band}
    )
    responses = sum(point.response for point in points)
    if responses:
        sentences.append(_("Response at %(count)d of them.") % {"count": responses})
    remissions = sum(bool(point.remission) for point in points)
    if remissions:
        sentences.append(_("Remission at %(count)d of them.") % {"count": remissions})
    sentences.append(_("The table beside the chart lists every score."))
    return " ".join(sentences)


def _reference_lines(series: Series) -> tuple[list[ReferenceLine], list[tuple[str, str]]]:
    """The dashed lines this series has (baseline, response threshold, remission threshold), each
    labelled with its score, and the legend entries each brings."""
    lines: list[ReferenceLine] = []
    legend: list[tuple[str, str]] = []
    for value, label, kind, entries in (
        (series.baseline, _("Baseline %(score)s"), BASELINE_LINE, [(BASELINE_LINE, _("Baseline"))]),
        (
            series.response_at_most,
            _("Response: %(score)s or less"),
            RESPONSE_LINE,
            [(RESPONSE_LINE, _("Response threshold")), (RESPONSE, _("Response"))],
        ),
        (
            series.measure.remission_below,
            _("Remission: below %(score)s"),
            REMISSION_LINE,
            [(REMISSION_LINE, _("Remission threshold")), (REMISSION, _("Remission"))],
        ),
    ):
        if value is not None:
            lines.append(ReferenceLine(float(value), label % {"score": score_text(value)}, kind))
            legend.extend(entries)
    return lines, legend


def table_id(series: Series) -> str:
    """The id of the table giving the chart's values in text (templates/intake/_outcomes.html)."""
    return f"outcome-{series.measure.key}-table"


def _note(point: Point) -> str:
    if point.is_baseline:
        return _("Baseline %(score)d") % {"score": point.score}
    return ""


def series_svg(series: Series) -> str:
    measure = series.measure
    points = series.points
    tick_format = "M j" if len({point.day.year for point in points}) <= 1 else "M j, Y"
    chart_points = [
        ChartPoint(
            day=point.day,
            label=_day(point),
            value=point.score,
            title=point_title(point),
            markers=tuple(
                marker
                for marker, shown in ((RESPONSE, point.response), (REMISSION, point.remission))
                if shown
            ),
            note=_note(point),
        )
        for point in points
    ]
    # With one score there is nothing to compare: no baseline or threshold lines, just the value.
    lines, legend = _reference_lines(series) if len(points) > 1 else ([], [])
    return line_chart(
        chart_id=f"outcome-{measure.key}",
        title=str(measure.name),
        description=describe(series),
        points=chart_points,
        y_min=measure.minimum,
        y_max=measure.maximum,
        y_ticks=measure.ticks,
        threshold_bands=[
            Band(low, high, _band_label(label, low, high)) for low, high, label in measure.bands
        ],
        lines=lines,
        legend=[("point", _("Score")), *legend],
        y_label=_("Score"),
        empty_text=_("No scores yet"),
        described_by=table_id(series) if points else "",
        tick_label=lambda day: date_format(day, tick_format),
    )


def _band_label(label: str, low: int, high: int) -> str:
    """ "Mild 5-9"; a one-score band reads "No pain 0"."""
    scores = str(low) if low == high else f"{low}\N{EN DASH}{high}"
    return f"{label} {scores}"


@register.simple_tag
def outcome_chart(series: Series) -> SafeString:
    # Safe: intake.svg_chart builds the markup only from formatted numbers and escaped text.
    return mark_safe(series_svg(series))  # noqa: S308


@register.filter
def outcome_table_id(series: Series) -> str:
    return table_id(series)


@register.filter
def score_display(value: Fraction | int | float | None) -> str:
    return "" if value is None else score_text(value)
