"""Where a course stands: how many of its sessions were done, missed, deferred, cancelled, and how
many remain. `session_counts` is pure over the sessions' statuses and ends; `course_progress`
loads the course's sessions (two queries, whatever their number) and passes them to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from scheduling.course_state import MAINTENANCE_TYPE_CODE, course_sessions
from scheduling.models import OPEN_STATUSES, AppointmentStatus, InfusionCourse


@dataclass(frozen=True)
class SessionCounts:
    done: int  # completed
    no_show: int  # missed: the patient did not come
    deferred: int  # turned away on the day (the vital-signs gate, the desk)
    cancelled: int
    upcoming: int  # open (OPEN_STATUSES) and not yet over
    to_record: int  # open but over: the outcome is not recorded yet

    @property
    def remaining(self) -> int:
        """Sessions still open: to come, or over with their outcome to record."""
        return self.upcoming + self.to_record


def session_counts(
    sessions: Iterable[tuple[str, dt.datetime]], *, now: dt.datetime
) -> SessionCounts:
    """Counts over `(status, end)` pairs of a course's own sessions. Pure."""
    statuses = [(status, end) for status, end in sessions]
    open_ = set(OPEN_STATUSES)

    def count(status: str) -> int:
        return sum(s == status for s, _ in statuses)

    return SessionCounts(
        done=count(AppointmentStatus.COMPLETED),
        no_show=count(AppointmentStatus.NO_SHOW),
        deferred=count(AppointmentStatus.DEFERRED),
        cancelled=count(AppointmentStatus.CANCELLED),
        upcoming=sum(s in open_ and end > now for s, end in statuses),
        to_record=sum(s in open_ and end <= now for s, end in statuses),
    )


def course_progress(course: InfusionCourse, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Where a course stands: counts of `done` (completed), `no_show`, `deferred`, `cancelled`,
    `upcoming` (open, OPEN_STATUSES, not yet over), `to_record` (open but over, outcome not yet
    recorded) and `remaining` (the two together), with `counts` (the SessionCounts); `planned`;
    `status`; `sessions` (the course's own appointments in time order) and `maintenance`
    (maintenance infusions after it, in time order)."""
    now = now or timezone.now()
    sessions = course_sessions(course)
    counts = session_counts(((s.status, s.end) for s in sessions), now=now)
    return {
        "planned": course.planned_sessions,
        "counts": counts,
        "done": counts.done,
        "no_show": counts.no_show,
        "deferred": counts.deferred,
        "cancelled": counts.cancelled,
        "upcoming": counts.upcoming,
        "to_record": counts.to_record,
        "remaining": counts.remaining,
        "status": course.status,
        "sessions": sessions,
        "maintenance": list(
            course.sessions.filter(appointment_type__code=MAINTENANCE_TYPE_CODE).order_by("start")
        ),
    }
