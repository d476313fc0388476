"""Time from first contact to the first consultation and to the first infusion (median and 90th
percentile, in days), for the patients whose first such visit starts in the range. First contact:
the earlier of the patient's record being created and their first online booking request.
Cancelled, deferred and no-show visits do not count as the first visit. One query per measure:
the durations are read as numbers and their quantiles taken here (the demo runs on SQLite too,
which has no percentile_cont)."""

from __future__ import annotations

from django.db.models import DateTimeField, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least
from django.utils.translation import gettext as _

from intake.models import Patient
from scheduling.models import ACTIVE_STATUSES, BookingRequest, RoomKind
from scheduling.reports.period import Period
from scheduling.reports.tables import Report, quantile

CONSULTATION = Q(appointments__appointment_type__code="consultation")
INFUSION = Q(appointments__appointment_type__room_kind=RoomKind.INFUSION)


def days_to_first(period: Period, which: Q) -> list[float]:
    span = period.span
    first_request = (
        BookingRequest.objects.filter(appointment__patient=OuterRef("pk"))
        .order_by("created_at")
        .values("created_at")[:1]
    )
    rows = (
        Patient.objects.annotate(
            first_visit=Min(
                "appointments__start",
                filter=which & Q(appointments__status__in=ACTIVE_STATUSES),
            ),
            first_contact=Least(
                Coalesce(Subquery(first_request, output_field=DateTimeField()), F("created_at")),
                F("created_at"),
            ),
        )
        .filter(first_visit__gte=span.start, first_visit__lt=span.end)
        .values_list("first_contact", "first_visit")
    )
    return [max((visit - contact).total_seconds(), 0) / 86400 for contact, visit in rows]


def lead_times(period: Period) -> Report:
    rows = []
    for label, which in ((_("Consultation"), CONSULTATION), (_("First infusion"), INFUSION)):
        values = days_to_first(period, which)
        rows.append((label, len(values), quantile(values, 0.5), quantile(values, 0.9)))
    return Report(
        key="lead-times",
        title=_("Time from first contact"),
        columns=(_("To"), _("Patients"), _("Median days"), _("90th percentile days")),
        rows=rows,
        bars=[(f"{label} ({_('median')})", median or 0.0) for label, _n, median, _p in rows],
        unit=_(" days"),
        note=_(
            "Patients whose first consultation or first infusion started in the range; first "
            "contact is their record's creation or their first online booking request."
        ),
    )
