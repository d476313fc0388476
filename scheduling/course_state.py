"""A course's own sessions and its completion: read by the course services and, at discharge, by
the visit wing (scheduling.visits.infusion), so it lives in the core."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from scheduling.audit import audit_patient_event
from scheduling.errors import SchedulingError
from scheduling.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    CourseStatus,
    InfusionCourse,
)

MAINTENANCE_TYPE_CODE = "maintenance"


def course_sessions(course: InfusionCourse) -> list[Appointment]:
    """The course's own sessions in time order, maintenance infusions left out."""
    return list(
        course.sessions.select_related("appointment_type", "room", "clinician")
        .exclude(appointment_type__code=MAINTENANCE_TYPE_CODE)
        .order_by("start", "id")
    )


def locked_course(course_id: int) -> InfusionCourse:
    course = InfusionCourse.objects.select_for_update().filter(pk=course_id).first()
    if course is None:
        raise SchedulingError("course_not_found")
    return course


def course_complete_if_done(
    *,
    course_id: int,
    actor: Any = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Mark an active course completed when none of its sessions is still open (OPEN_STATUSES)
    and at least one was completed; return whether the course is (now) completed. Idempotent."""
    with transaction.atomic():
        course = locked_course(course_id)
        if course.status == CourseStatus.COMPLETED:
            return True
        if course.status != CourseStatus.ACTIVE:
            return False
        statuses = {s.status for s in course_sessions(course)}
        if statuses & set(OPEN_STATUSES) or AppointmentStatus.COMPLETED not in statuses:
            return False
        InfusionCourse.objects.filter(pk=course.pk).update(
            status=CourseStatus.COMPLETED, updated_at=now or timezone.now()
        )
        audit_patient_event(course, "course.completed", actor=actor, request=request)
    return True
