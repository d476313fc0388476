"""Rows of the booking side: courses, appointments, their status history and reminders."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

from demo.scale_data.grid import _Slot
from demo.scale_data.parameters import BATCH, MAINTENANCE
from demo.scale_data.rows import _Rows
from intake.models import Patient
from scheduling import reminder_plan as reminders
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    BookedVia,
    InfusionCourse,
    Reminder,
    ReminderState,
)
from scheduling.reminder_plan import appointment_kind, plan_reminders, reminder_times


class _AppointmentRows(_Rows):
    """The writer's booking rows; _Writer.write says in which order they are inserted."""

    # Appointments, history, courses ------------------------------------------------------

    def _appointments(self, people: list[Patient]) -> list[tuple[_Slot, Appointment]]:
        c, plan = self.c, self.plan
        courses = [
            InfusionCourse(
                patient=people[course.patient],
                planned_sessions=len(course.sessions),
                span_weeks=course.weeks,
                status=course.status,
                created_by_id=c.front_desk,
                created_at=course.booked_at,
                updated_at=max(s.changed_at or s.booked_at for s in course.sessions),
            )
            for course in plan.courses
        ]
        InfusionCourse.objects.bulk_create(courses, batch_size=BATCH)
        ordered = sorted(plan.slots, key=lambda s: (s.booked_at, s.start, s.patient))
        pairs = []
        for number, slot in enumerate(ordered, start=1):
            online = slot.via == BookedVia.ONLINE
            key = hashlib.sha256(f"{number}-{slot.start.isoformat()}".encode()).hexdigest()[:26]
            pairs.append(
                (
                    slot,
                    Appointment(
                        patient=people[slot.patient],
                        appointment_type=c.types[slot.code],
                        start=slot.start,
                        end=slot.end,
                        room_id=slot.room,
                        clinician=c.clinicians[slot.clinician],
                        status=slot.status,
                        booked_via=slot.via,
                        booked_by_id=None if online else c.front_desk,
                        course=courses[slot.course] if slot.course is not None else None,
                        idempotency_key=f"scale-{key}" if online else None,
                        sequence=1 if slot.status == AppointmentStatus.CANCELLED else 0,
                        created_at=slot.booked_at,
                        updated_at=slot.changed_at or slot.booked_at,
                    ),
                )
            )
        Appointment.objects.bulk_create([a for _, a in pairs], batch_size=BATCH)
        history = []
        by_course: dict[int, list[int]] = defaultdict(list)
        for slot, appointment in pairs:
            history += self._history(slot, appointment)
            if slot.course is not None and slot.code != MAINTENANCE:
                by_course[slot.course].append(appointment.pk)
        AppointmentStatusChange.objects.bulk_create(history, batch_size=BATCH)
        for index, (row, course) in enumerate(zip(courses, plan.courses, strict=True)):
            ids = sorted(by_course[index])
            self._event(
                "course.booked",
                at=course.booked_at,
                actor=c.front_desk,
                patient=row.patient_id,
                obj=row,
                detail={"sessions": len(ids), "appointments": ids},
            )
        return pairs

    def _history(self, slot: _Slot, appointment: Appointment) -> list[AppointmentStatusChange]:
        desk = None if slot.via == BookedVia.ONLINE else self.c.front_desk
        steps: list[tuple[str, str, dt.datetime | None, int | None, str]] = [
            ("", AppointmentStatus.BOOKED, slot.booked_at, desk, "")
        ]
        arrived = slot.start - dt.timedelta(minutes=10)
        status, at = slot.status, slot.changed_at
        if status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED):
            steps.append(
                (
                    AppointmentStatus.BOOKED,
                    AppointmentStatus.CHECKED_IN,
                    arrived,
                    self.c.front_desk,
                    "",
                )
            )
        if status == AppointmentStatus.COMPLETED:
            clinician = self.c.clinician_users[slot.clinician]
            steps.append((AppointmentStatus.CHECKED_IN, status, at, clinician, ""))
        elif status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
            steps.append((AppointmentStatus.BOOKED, status, at, self.c.front_desk, slot.reason))
        rows = []
        for before, after, when, actor, reason in steps:
            assert when is not None
            rows.append(
                AppointmentStatusChange(
                    appointment=appointment,
                    from_status=before,
                    to_status=after,
                    at=when,
                    by_id=actor,
                    reason=reason,
                )
            )
            if before:
                detail = {"from": before, "reason": reason} if reason else {"from": before}
            else:
                detail = {"type": slot.code, "via": slot.via}
            action = f"appointment.{after}" if before else "appointment.booked"
            self._event(
                action,
                at=when,
                actor=actor,
                patient=appointment.patient_id,
                obj=appointment,
                detail=detail,
            )
        return rows

    # Reminders --------------------------------------------------------------------------------

    def _reminders(self, people: list[Patient], pairs: list[tuple[_Slot, Appointment]]) -> int:
        c, now = self.c, self.c.now
        times = reminder_times()
        rows = []
        for slot, appointment in pairs:
            if slot.status != AppointmentStatus.BOOKED or slot.start <= now:
                continue
            p = self.plan.patients[slot.patient]
            kind = appointment_kind(appointment)
            intake_done = p.submitted_at is not None and p.submitted_at <= slot.booked_at
            plan = plan_reminders(
                appointment_kind=kind,
                start=slot.start,
                end=slot.end,
                now=slot.booked_at,
                email_ok=p.email_ok,
                sms_ok=p.sms_ok,
                intake_done=kind != reminders.CONSULTATION or intake_done,
                tz=c.tz,
                times=times,
                confirmation=slot.confirm,
            )
            for reminder_kind, channel, due in plan:
                sent = due <= now
                rows.append(
                    Reminder(
                        appointment=appointment,
                        kind=reminder_kind,
                        channel=channel,
                        due_at=due,
                        state=ReminderState.SENT if sent else ReminderState.PENDING,
                        attempts=1 if sent else 0,
                        claimed_at=due if sent else None,
                        sent_at=due if sent else None,
                        created_at=slot.booked_at,
                        updated_at=due if sent else slot.booked_at,
                    )
                )
        Reminder.objects.bulk_create(rows, batch_size=BATCH)
        return len(rows)
