"""When one session of a course cannot be booked (scheduling.courses.services.course_book): the
refusal in words for staff, and up to five free starts for that session that keep the course rules
with the others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from intake.clearance import clearance_status, clinic_date
from scheduling.availability import one_a_day_first
from scheduling.courses.planner import CourseRules, check_course, describe
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentType, Room
from scheduling.slots import clinic_tz, staff_slots

ALTERNATIVES = 5
ALTERNATIVE_DAYS = 3


class CourseConflict(SchedulingError):
    """One session of a course could not be booked, so nothing was. `index` is the session's
    position (0-based, sessions in time order), `alternatives` up to five free starts for it that
    keep the course rules with the other sessions."""

    def __init__(
        self,
        index: int,
        start: dt.datetime,
        message: str,
        alternatives: Sequence[dt.datetime] = (),
        *,
        reason: str = "",
    ) -> None:
        self.index = index
        self.start = start
        self.alternatives = list(alternatives)
        self.reason = reason  # the SchedulingError code of the underlying refusal
        super().__init__("course_conflict", detail=message)


def session_label(index: int, start: dt.datetime) -> dict[str, Any]:
    return {"number": index + 1, "when": describe(start, clinic_tz())}


def _explain(error: SchedulingError, appointment_type: AppointmentType, start: dt.datetime) -> str:
    """The refusal in words naming the room when the only room of the kind is taken."""
    if error.code == "no_resource":
        end = start.astimezone(dt.UTC) + appointment_type.duration
        rooms = list(Room.objects.filter(kind=appointment_type.room_kind, active=True))
        taken = set(
            Appointment.objects.active()
            .overlapping(start, end)
            .filter(room__in=rooms)
            .values_list("room_id", flat=True)
        )
        if len(rooms) == 1 and rooms[0].pk in taken:
            return SchedulingError("room_taken", room=rooms[0].name).message
    return error.message


def _alternatives(
    *,
    index: int,
    starts: Sequence[dt.datetime],
    appointment_type: AppointmentType,
    patient_id: int,
    rules: CourseRules,
    last_day: dt.date | None,
    now: dt.datetime,
) -> list[dt.datetime]:
    """Up to ALTERNATIVES free starts within ALTERNATIVE_DAYS days of session `index` that keep
    the course rules with the other sessions and fall inside the clearance; the closest day
    first, one per day before a second on any day."""
    tz = clinic_tz()
    original = starts[index]
    day = original.astimezone(tz).date()
    slots = staff_slots(
        appointment_type,
        day - dt.timedelta(days=ALTERNATIVE_DAYS),
        day + dt.timedelta(days=ALTERNATIVE_DAYS),
        now=now,
        patient_id=patient_id,
    )
    others = [start for position, start in enumerate(starts) if position != index]
    fitting = [
        slot.start
        for slot in slots
        if slot.start != original
        and (last_day is None or slot.start.astimezone(tz).date() <= last_day)
        and not check_course([*others, slot.start], rules=rules, tz=tz)
    ]
    fitting.sort(key=lambda start: abs(start - original))
    return one_a_day_first(fitting, tz)[:ALTERNATIVES]


def course_conflict(
    error: SchedulingError,
    *,
    index: int,
    starts: Sequence[dt.datetime],
    appointment_type: AppointmentType,
    patient_id: int,
    rules: CourseRules,
    now: dt.datetime,
) -> CourseConflict:
    """The CourseConflict for session `index` (of `starts`, in time order) refused with `error`,
    its alternatives computed now (after the course's transaction rolled back), inside the
    patient's current clearance."""
    start = starts[index]
    message = _("Session %(number)d on %(when)s: %(why)s") % {
        **session_label(index, start),
        "why": _explain(error, appointment_type, start),
    }
    alternatives = _alternatives(
        index=index,
        starts=starts,
        appointment_type=appointment_type,
        patient_id=patient_id,
        rules=rules,
        last_day=clearance_status(patient_id, today=clinic_date(now)).valid_until,
        now=now,
    )
    return CourseConflict(index, start, message, alternatives, reason=error.code)
