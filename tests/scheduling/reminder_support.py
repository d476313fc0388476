"""Shared helpers for the reminder tests: a small clinic and patients with consents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings

from scheduling.models import RoomKind
from tests.factories import (
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    clear_patient,
    infusion_type,
    open_weekdays,
)

CONSENTED = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)


def reminder_clinic() -> SimpleNamespace:
    """Weekdays 9-7; a consultation, a follow-up visit and an infusion type; rooms; a clinician."""
    open_weekdays()
    return SimpleNamespace(
        consultation=AppointmentTypeFactory(),
        follow_up=AppointmentTypeFactory(code="follow_up", name="Follow-up", self_bookable=False),
        infusion=infusion_type(),
        room=RoomFactory(name="Consult A"),
        infusion_room=RoomFactory(name="Chair 1", kind=RoomKind.INFUSION),
        clinician=ClinicianFactory(display_name="Dr Example"),
    )


def consenting_patient(*, email: bool = True, sms: bool = True, cleared: bool = False, **kw):
    patient = PatientFactory(
        consent_email=email,
        consent_email_at=CONSENTED if email else None,
        consent_sms=sms,
        consent_sms_at=CONSENTED if sms else None,
        **kw,
    )
    if cleared:
        clear_patient(patient)
    return patient


def sms_lines() -> list[dict]:
    path = Path(settings.SMS_FILE_PATH) / "messages.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def deliver_due_reminders(now: dt.datetime | None = None) -> list[int]:
    """What the beat sweep and a worker would do next: claim every due reminder and send it."""
    from scheduling.reminders.dispatch import dispatch_due, reminder_send

    claimed = dispatch_due(now=now)
    for reminder_id in claimed:
        reminder_send(reminder_id=reminder_id, now=now)
    return claimed


def batched_rows(
    patient,
    starts: list[dt.datetime],
    *,
    due_at: dt.datetime,
    channels: tuple[str, ...] = ("email", "sms"),
    kind: str = "confirmation",
    **appointment_kw,
) -> list:
    """An appointment at each of `starts` for `patient` and, per channel, one `kind` row each,
    all in one batch (as one action plans them: scheduling.reminder_plan.new_batch)."""
    from scheduling.models import Reminder
    from scheduling.reminder_plan import new_batch
    from tests.factories import AppointmentFactory

    batch = new_batch()
    rows = []
    for start in starts:
        appointment = AppointmentFactory(patient=patient, start=start, **appointment_kw)
        for channel in channels:
            rows.append(
                Reminder.objects.create(
                    appointment=appointment, kind=kind, channel=channel, due_at=due_at, batch=batch
                )
            )
    return rows
