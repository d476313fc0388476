"""The reports page (every staff role; clinical sections for clinicians and admin) and each
report's CSV download. Reading a clinical report writes one audit event per page or download."""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from propel.audit import audit_record
from propel.roles import Capability, can, staff_required
from scheduling.reports.bars import bar_chart
from scheduling.reports.catalogue import BY_KEY, Entry, visible
from scheduling.reports.csv_export import csv_response
from scheduling.reports.period import Period, period_form
from scheduling.reports.tables import Report


def _audit(request: HttpRequest, entries: list[Entry], period: Period) -> None:
    keys = [entry.key for entry in entries if entry.clinical]
    if keys:
        audit_record(
            action="report.viewed",
            request=request,
            detail={"reports": keys, "first": str(period.first), "last": str(period.last)},
        )


@staff_required(Capability.CALENDAR)
def reports(request: HttpRequest) -> HttpResponse:
    form, period = period_form(request.GET)
    sections: list[tuple[Report, str]] = []
    if period is not None:
        entries = visible(can(request.user, Capability.HEALTH_RECORD))
        for entry in entries:
            report = entry.build(period)
            svg = bar_chart(f"chart-{report.key}", str(report.title), report.bars, report.unit)
            chart = mark_safe(svg)  # noqa: S308 - bar_chart escapes every text
            sections.append((report, chart))
        _audit(request, entries, period)
    status = 200 if period is not None else 400
    return render(
        request,
        "scheduling/reports/page.html",
        {"form": form, "period": period, "sections": sections},
        status=status,
    )


@staff_required(Capability.CALENDAR)
def report_csv(request: HttpRequest, key: str) -> HttpResponse:
    entry = BY_KEY.get(key)
    if entry is None:
        raise Http404
    if entry.clinical and not can(request.user, Capability.HEALTH_RECORD):
        raise PermissionDenied
    form, period = period_form(request.GET)
    if period is None:
        return HttpResponse(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    report = entry.build(period)
    _audit(request, [entry], period)
    filename = f"{entry.key}-{period.first}-{period.last}.csv"
    # A streaming response: staff_required is typed for HttpResponse, which it passes through.
    return cast(HttpResponse, csv_response(filename, [report.columns, *report.rows]))
