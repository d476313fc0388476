"""What scheduling tells intake: each patient's next consultation (the review queue), the
check-in window, the outbox writer for the information-request email, and the re-plan that
follows a change of contact consent (intake.consent).

intake never imports scheduling (design: scheduling -> intake -> propel), so intake.review keeps a
registry and SchedulingConfig.ready() registers `next_consultations` in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db.models import Min

from intake.check_in_window import set_check_in_gate
from intake.consent import set_consent_listener
from intake.consent_forms import set_signed_copy_writer
from intake.information_request import set_information_request_writer
from intake.review import set_consultation_lookup
from scheduling.check_ins import check_in_gate
from scheduling.models import Appointment, AppointmentStatus, ReminderKind
from scheduling.online.rules import CONSULTATION_CODE
from scheduling.reminder_plan import patient_message_plan, reminders_replan


def next_consultations(patient_ids: Collection[int], *, now: dt.datetime) -> dict[int, dt.datetime]:
    """Start of each patient's next active consultation (one in progress counts), in one query
    for any number of patients. Patients without one are left out."""
    ids = list(patient_ids)
    if not ids:
        return {}
    rows = (
        Appointment.objects.active()
        .filter(patient_id__in=ids, appointment_type__code=CONSULTATION_CODE, end__gt=now)
        .values("patient_id")
        .annotate(first_start=Min("start"))
        .order_by()
        .values_list("patient_id", "first_start")
    )
    return dict(rows)


def information_request_write(patient_id: int) -> None:
    """intake's NEEDS_INFORMATION email, as an outbox row in the decision's transaction."""
    patient_message_plan(patient_id=patient_id, kind=ReminderKind.INFORMATION_REQUEST)


def signed_copy_write(patient_id: int) -> None:
    """intake's "your signed form is ready" email, as an outbox row in the signature's
    transaction."""
    patient_message_plan(patient_id=patient_id, kind=ReminderKind.SIGNED_COPY)


def consent_replan(patient_id: int, now: dt.datetime) -> int:
    """After a change of the patient's consent, in its transaction: re-plan the reminders of
    every booked appointment still to come (an opt-out cancels the pending rows of that channel,
    an opt-in plans them; sent rows are history). Returns how many appointments."""
    ids = list(
        Appointment.objects.filter(
            patient_id=patient_id, status=AppointmentStatus.BOOKED, start__gt=now
        ).values_list("pk", flat=True)
    )
    for appointment_id in ids:
        reminders_replan(appointment_id=appointment_id, now=now)
    return len(ids)


def register() -> None:
    set_consultation_lookup(next_consultations)
    # The pre-infusion check-in's window (scheduling.check_ins) for intake's check-in pages.
    set_check_in_gate(check_in_gate)
    # The outbox writer for intake's "the care team needs more information" email.
    set_information_request_writer(information_request_write)
    # The outbox writer for the email saying a signed consent form is ready to download.
    set_signed_copy_writer(signed_copy_write)
    # Pending reminders follow the patient's consent.
    set_consent_listener(consent_replan)
