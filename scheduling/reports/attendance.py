"""No-show and late-cancel rates per appointment type, over the appointments starting in the
range. Late: cancelled less than the clinic's change cutoff (settings.ONLINE_CHANGE_CUTOFF, the
time before a visit after which patients can no longer change it online) before the start. Rates
are over every appointment starting in the range. One query."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from scheduling.models import Appointment, AppointmentStatus, AppointmentStatusChange
from scheduling.reports.period import Period
from scheduling.reports.tables import Report, percent


def attendance(period: Period) -> Report:
    span = period.span
    late_cancel = AppointmentStatusChange.objects.filter(
        appointment=OuterRef("pk"),
        to_status=AppointmentStatus.CANCELLED,
        at__gt=OuterRef("start") - settings.ONLINE_CHANGE_CUTOFF,
    )
    rows_ = (
        Appointment.objects.filter(start__gte=span.start, start__lt=span.end)
        .annotate(cancelled_late=Exists(late_cancel))
        .values("appointment_type__name")
        .annotate(
            total=Count("pk"),
            no_show=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=AppointmentStatus.CANCELLED)),
            late=Count("pk", filter=Q(status=AppointmentStatus.CANCELLED, cancelled_late=True)),
        )
        .order_by("appointment_type__name")
        .values_list("appointment_type__name", "total", "no_show", "cancelled", "late")
    )
    rows: list[tuple[object, ...]] = []
    sums = [0, 0, 0, 0]
    for name, total, no_show, cancelled, late in rows_:
        rows.append(
            (name, total, no_show, percent(no_show, total), cancelled, late, percent(late, total))
        )
        sums = [a + b for a, b in zip(sums, (total, no_show, cancelled, late), strict=True)]
    total, no_show, cancelled, late = sums
    if rows:
        rows.append(
            (
                _("All"),
                total,
                no_show,
                percent(no_show, total),
                cancelled,
                late,
                percent(late, total),
            )
        )
    hours = int(settings.ONLINE_CHANGE_CUTOFF.total_seconds() // 3600)
    return Report(
        key="attendance",
        title=_("No-shows and late cancellations"),
        columns=(
            _("Visit type"),
            _("Appointments"),
            _("No-shows"),
            _("No-show %"),
            _("Cancelled"),
            _("Late cancellations"),
            _("Late cancellation %"),
        ),
        rows=rows,
        bars=[
            (_("No-show"), percent(no_show, total) or 0.0),
            (_("Late cancellation"), percent(late, total) or 0.0),
        ],
        unit="%",
        note=_(
            "Over every appointment starting in the range; late: cancelled less than %(hours)d "
            "hours before the start."
        )
        % {"hours": hours},
    )
