"""A chunk of claimed reminder messages as the dispatcher's task reads it before sending: which
rows make each message, which relations its send reads, and the patients' questionnaire states.

scheduling.reminders.dispatch claims chunks and sends them message by message; this module only
reads (no locks: each message is locked and re-read in its own transaction when its turn comes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Q

from intake.selectors import questionnaire_statuses
from scheduling.models import Reminder, ReminderKind


class Message(NamedTuple):
    """One message of a chunk: its lead, the filter that finds its rows (the lead alone, or its
    batch and channel) and the relations its send reads (only those of what it is about: the
    lock query joins and compiles no more)."""

    lead: int
    rows: Q
    related: tuple[str, ...]
    # The batch and channel the rows share (a batch's message); None for a lone row.
    batch: uuid.UUID | None = None
    channel: str | None = None


ABOUT_APPOINTMENT = ("appointment__patient", "appointment__appointment_type")
ABOUT_PATIENT = ("patient",)
ABOUT_BOOKING_REQUEST = ("booking_request",)


@dataclass
class Chunk:
    """The messages of a chunk of claimed leads, read in one query, and the questionnaire states
    of the patients they go to (read in one more query, only when a kind needs it)."""

    messages: list[Message]
    questionnaires: dict[int, str] | None = None


# Rendering or the skip check of these kinds reads the patient's questionnaire state.
QUESTIONNAIRE_KINDS = frozenset(
    {
        ReminderKind.CONFIRMATION,
        ReminderKind.RESCHEDULED_NOTICE,
        ReminderKind.INTAKE_NUDGE_48H,
        ReminderKind.PATIENT_LINK,
    }
)


def read_chunk(lead_ids: list[int]) -> Chunk:
    """The messages of these claimed leads, in their order (a batch once, whatever rows of it
    are given), and their patients' questionnaire states: two queries at most."""
    keys = Reminder.objects.filter(pk__in=lead_ids).values_list(
        "pk", "batch", "channel", "kind", "appointment__patient_id", "patient_id"
    )
    found = {pk: (batch, channel, kind, a, p) for pk, batch, channel, kind, a, p in keys}
    chunk = Chunk(messages=[])
    patients = set()
    seen: set[tuple[uuid.UUID, str]] = set()
    for lead in dict.fromkeys(lead_ids):
        if lead not in found:
            continue
        batch, channel, kind, appointment_patient, patient = found[lead]
        related = (
            ABOUT_APPOINTMENT
            if appointment_patient is not None
            else ABOUT_PATIENT
            if patient is not None
            else ABOUT_BOOKING_REQUEST
        )
        if batch is None:
            chunk.messages.append(Message(lead, Q(pk=lead), related))
        elif (batch, channel) not in seen:
            seen.add((batch, channel))
            chunk.messages.append(
                Message(lead, Q(batch=batch, channel=channel), related, batch, channel)
            )
        if batch is not None or kind in QUESTIONNAIRE_KINDS:
            patients.add(appointment_patient or patient)
    patients.discard(None)
    if patients:
        chunk.questionnaires = questionnaire_statuses(patients)
    return chunk
