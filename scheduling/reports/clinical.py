"""Clinical reports, for clinicians and admin only.

Course completion and dropout: the courses started (created) in the range, by how they stand:
completed, ended early (by the reason recorded when ending it: CourseEndReason), in progress.

Outcomes at course end: the courses completed whose last attended session falls in the range. For
each, the patient's PHQ-9, GAD-7 and pain scores up to the end of that session, judged by
intake.outcomes (its baseline, response and remission: no rule is made here); a course counts for
a measure when it has a baseline and a later score, and it responded (remitted) when its latest
score did. Two queries each whatever the range."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import cast

from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.models import IntakeSubmission
from intake.outcomes import RoundScores, measure_series, measures
from scheduling.models import ATTENDED_STATUSES, CourseEndReason, CourseStatus, InfusionCourse
from scheduling.reports.period import Period
from scheduling.reports.tables import Report, percent

STOPPED_SHORT = (CourseStatus.ENDED_EARLY, CourseStatus.CANCELLED)


def courses(period: Period) -> Report:
    span = period.span
    counts = {
        (status, reason): n
        for status, reason, n in InfusionCourse.objects.filter(
            created_at__gte=span.start, created_at__lt=span.end
        )
        .values("status", "end_reason")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "end_reason", "n")
    }
    completed = sum(n for (status, _r), n in counts.items() if status == CourseStatus.COMPLETED)
    active = sum(n for (status, _r), n in counts.items() if status == CourseStatus.ACTIVE)
    # Ended early after some sessions, or cancelled before any: both stopped short of the plan.
    early: dict[str, int] = defaultdict(int)
    for (status, reason), n in counts.items():
        if status in STOPPED_SHORT:
            early[reason] += n
    ended = completed + sum(early.values())
    rows = [(_("Completed"), completed, percent(completed, ended))]
    for reason in CourseEndReason:
        rows.append(
            (
                _("Ended early: %(reason)s") % {"reason": reason.label},
                early.get(reason.value, 0),
                percent(early.get(reason.value, 0), ended),
            )
        )
    if early.get(""):
        rows.append((_("Ended early: no reason recorded"), early[""], percent(early[""], ended)))
    rows.append((_("Still in progress"), active, None))
    return Report(
        key="courses",
        title=_("Course completion and dropout reasons"),
        columns=(_("Outcome"), _("Courses"), _("Share of ended courses (percent)")),
        rows=rows,
        bars=[(str(label), float(n)) for label, n, _p in rows],
        note=_("Courses started in the range, by how they ended."),
        clinical=True,
    )


def _rounds_by_patient(patient_ids: set[int]) -> dict[int, list[RoundScores]]:
    zone = timezone.get_default_timezone()
    rounds: dict[int, list[RoundScores]] = defaultdict(list)
    for patient_id, kind, at, scores in (
        IntakeSubmission.objects.submitted()
        .filter(patient_id__in=patient_ids)
        .values_list("patient_id", "kind", "submitted_at", "scores")
    ):
        at = cast(dt.datetime, at)
        rounds[patient_id].append(RoundScores(kind, at, timezone.localdate(at, zone), scores or {}))
    return rounds


def outcomes(period: Period) -> Report:
    span = period.span
    ended = list(
        InfusionCourse.objects.filter(status=CourseStatus.COMPLETED)
        .annotate(last_end=Max("sessions__end", filter=Q(sessions__status__in=ATTENDED_STATUSES)))
        .filter(last_end__gte=span.start, last_end__lt=span.end)
        .values_list("patient_id", "last_end")
    )
    rounds = _rounds_by_patient({patient_id for patient_id, _end in ended})
    rows = []
    for measure in measures():
        counted = responded = remitted = 0
        for patient_id, last_end in ended:
            series = measure_series(
                (r for r in rounds.get(patient_id, ()) if r.submitted_at <= last_end), measure
            )
            latest = series.latest
            if latest is None or latest.is_baseline:
                continue
            counted += 1
            responded += latest.response
            remitted += bool(latest.remission)
        has_remission = measure.remission_below is not None
        rows.append(
            (
                str(measure.name),
                len(ended),
                counted,
                responded,
                percent(responded, counted),
                remitted if has_remission else None,
                percent(remitted, counted) if has_remission else None,
            )
        )
    bars = []
    for row in rows:
        bars.append((f"{row[0]}: {_('response')}", row[4] or 0.0))
        if row[5] is not None:
            bars.append((f"{row[0]}: {_('remission')}", row[6] or 0.0))
    return Report(
        key="outcomes",
        title=_("Response and remission at course end"),
        columns=(
            _("Measure"),
            _("Courses completed"),
            _("With baseline and a later score"),
            _("Responded"),
            _("Response %"),
            _("Remitted"),
            _("Remission %"),
        ),
        rows=rows,
        bars=bars,
        unit="%",
        note=_(
            "Courses completed whose last session was in the range; the latest score up to that "
            "session against the patient's baseline, as on the outcome chart."
        ),
        clinical=True,
    )
