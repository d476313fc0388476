"""Reminder delivery per channel, and deferrals on the day.

Delivery: the outbox's messages due in the range, counted by channel and state; the delivery rate
is sent over those that reached an end (sent, failed, skipped). Deferrals: visits deferred in the
range, by the reason staff wrote; the reason is free text that may describe the patient's health,
so front desk gets the count only. One query each."""

from __future__ import annotations

from django.db.models import Count
from django.utils.translation import gettext as _

from scheduling.models import Reminder, ReminderChannel, ReminderState, Visit
from scheduling.reports.period import Period
from scheduling.reports.tables import Report, percent

ENDED = (ReminderState.SENT, ReminderState.FAILED, ReminderState.SKIPPED)
COUNTED = (*ENDED, ReminderState.CANCELLED, ReminderState.PENDING)


def delivery(period: Period) -> Report:
    span = period.span
    counts: dict[tuple[str, str], int] = {
        (channel, state): n
        for channel, state, n in Reminder.objects.filter(
            due_at__gte=span.start, due_at__lt=span.end
        )
        .values("channel", "state")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("channel", "state", "n")
    }
    rows = []
    for channel in ReminderChannel:
        row = [counts.get((channel.value, state.value), 0) for state in COUNTED]
        sent, ended = row[0], sum(row[:3])
        rows.append((str(channel.label), *row, percent(sent, ended)))
    return Report(
        key="delivery",
        title=_("Reminder delivery"),
        columns=(_("Channel"), *(str(state.label) for state in COUNTED), _("Delivered %")),
        rows=rows,
        bars=[(str(row[0]), float(row[-1] or 0.0)) for row in rows],
        unit="%",
        note=_("Messages due in the range; delivered: sent over sent, failed and skipped."),
    )


def deferrals(period: Period, *, with_reasons: bool) -> Report:
    span = period.span
    deferred = Visit.objects.filter(deferred_at__gte=span.start, deferred_at__lt=span.end)
    if with_reasons:
        rows = [
            (reason or _("(none given)"), n)
            for reason, n in deferred.values("deferred_reason")
            .annotate(n=Count("pk"))
            .order_by("-n", "deferred_reason")
            .values_list("deferred_reason", "n")
        ]
    else:
        rows = [(_("All reasons"), deferred.count())]
    return Report(
        key="deferrals-by-reason" if with_reasons else "deferrals",
        title=_("Deferrals by reason") if with_reasons else _("Deferrals"),
        columns=(_("Reason"), _("Deferred visits")),
        rows=rows,
        bars=[(str(reason), float(n)) for reason, n in rows],
        note=_("Visits deferred on the day within the range."),
        clinical=with_reasons,
    )
