"""The writer: the plan turned into rows, inserted in dependency order."""

from __future__ import annotations

from demo.scale_data.appointment_rows import _AppointmentRows
from demo.scale_data.intake_rows import _IntakeRows
from demo.scale_data.parameters import BATCH
from demo.scale_data.rows import _own_timestamps
from demo.scale_data.visit_rows import _VisitRows
from intake.models import Flag, IntakeSubmission, Patient
from propel.models import AuditEvent
from scheduling.models import Appointment, InfusionCourse, PreInfusionCheckIn, Reminder, Visit


class _Writer(_IntakeRows, _AppointmentRows, _VisitRows):
    """Turns the plan into rows, with bulk inserts in dependency order."""

    def write(self) -> dict[str, int]:
        stamped = (Patient, IntakeSubmission, Flag, InfusionCourse, Appointment, Visit, Reminder)
        with _own_timestamps(*stamped, PreInfusionCheckIn):
            people = self._patients()
            self._screenings(people)
            appointments = self._appointments(people)
            self._visits(people, appointments)
            reminders = self._reminders(people, appointments)
        AuditEvent.objects.bulk_create(self.audit, batch_size=BATCH)
        return {"reminders": reminders}
