"""The outcome measures over one course (PHQ-9, GAD-7, pain), for the course page's clinicians.

The same series as the clinician's chart (intake.outcomes), cut to the course: for each measure,
the last score before the first session (the course's baseline) and every score from the first
session's start to the course's end (when it ended early or was cancelled: then; when completed:
the end of its last completed session; while active: no end). Response and remission are judged
against that baseline, as intake.outcomes does. `course_rounds` is pure; `course_outcomes` reads
the patient's submitted rounds in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import cast

from django.utils import timezone

from intake.models import IntakeSubmission
from intake.outcomes import RoundScores, Series, measure_series, measures, stored_score
from scheduling.models import Appointment, AppointmentStatus, CourseStatus, InfusionCourse


def course_window(
    course: InfusionCourse, sessions: Sequence[Appointment]
) -> tuple[dt.datetime, dt.datetime | None] | None:
    """(from, to) of the course's scores: its first session's start and its end (None while it
    runs); None when the course has no sessions."""
    if not sessions:
        return None
    first = min(s.start for s in sessions)
    if course.ended_at is not None:
        return first, course.ended_at
    done = [s.end for s in sessions if s.status == AppointmentStatus.COMPLETED]
    if course.status == CourseStatus.COMPLETED and done:
        return first, max(done)
    return first, None


def course_series(
    rounds: Iterable[RoundScores], *, start: dt.datetime, end: dt.datetime | None
) -> tuple[Series, ...]:
    """Each measure's series over the course: its last score before `start`, then its scores
    from `start` to `end` (inclusive; no end when None). Pure."""
    ordered = sorted(rounds, key=lambda r: r.submitted_at)
    result = []
    for measure in measures():
        scored = [r for r in ordered if stored_score(r.scores, measure) is not None]
        before = [r for r in scored if r.submitted_at < start]
        during = [
            r for r in scored if r.submitted_at >= start and (end is None or r.submitted_at <= end)
        ]
        result.append(measure_series([*before[-1:], *during], measure))
    return tuple(result)


def course_outcomes(course: InfusionCourse, sessions: Sequence[Appointment]) -> tuple[Series, ...]:
    """The course's series (course_series) from the patient's submitted rounds: one query."""
    window = course_window(course, sessions)
    if window is None:
        return course_series([], start=timezone.now(), end=None)
    start, end = window
    rows = (
        IntakeSubmission.objects.submitted()
        .filter(patient_id=course.patient_id)
        .values_list("kind", "submitted_at", "scores")
    )
    zone = timezone.get_default_timezone()
    return course_series(
        (
            RoundScores(kind, cast(dt.datetime, at), timezone.localdate(at, zone), scores or {})
            for kind, at, scores in rows
        ),
        start=start,
        end=end,
    )
