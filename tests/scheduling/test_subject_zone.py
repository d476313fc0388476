"""Every email subject that names a time names the zone ("10:00 a.m. PT", issue 17 item 5): each
subject template of templates/reminders/ and templates/emails/, and each kind's rendered subject
(every appointment kind for a consultation and a treatment visit, the emails about a patient or a
booking request, and batches)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from scheduling.models import BookingRequest, Reminder, ReminderKind
from scheduling.reminders.messages import EMAIL_ONLY_CONTEXTS, render_message
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
TIME_WITH_ZONE = re.compile(r"\b\d{1,2}:\d{2} [ap]\.m\. PT\b")
SUBJECT_TEMPLATES = sorted(
    path
    for folder in ("reminders", "emails")
    for path in (Path(settings.BASE_DIR) / "templates" / folder).glob("*_subject.txt")
)


def test_the_subject_templates_are_all_checked():
    names = {path.name for path in SUBJECT_TEMPLATES}
    assert "infusion_2h_subject.txt" in names and "batch_subject.txt" in names
    assert "booking_request_subject.txt" in names


@pytest.mark.parametrize("path", SUBJECT_TEMPLATES, ids=lambda path: path.name)
def test_a_subject_template_with_a_time_has_the_zone(path):
    text = path.read_text()
    if re.search(r"\btime\b", text.replace("translate", "")):
        assert "zone_abbreviation" in text, f"{path.name} names a time without its zone"


def rows_of_every_kind() -> list[tuple[str, list[Reminder]]]:
    patient = PatientFactory(first_name="Alex")
    consultation = AppointmentFactory(patient=patient)
    treatment = AppointmentFactory(
        patient=patient, infusion=True, start=consultation.start + dt.timedelta(days=7)
    )
    request = BookingRequest.objects.create(
        first_name="Typed",
        last_name="Stranger",
        date_of_birth=dt.date(1980, 1, 1),
        email="typed@example.test",
        mobile="+19165550123",
        start=consultation.start,
        hold_key="k" * 32,
        expires_at=consultation.start,
    )
    cases = []
    for kind in ReminderKind.values:
        if kind == ReminderKind.BOOKING_REQUEST:
            cases.append((kind, [Reminder(booking_request=request, kind=kind, channel="email")]))
        elif kind in EMAIL_ONLY_CONTEXTS:
            cases.append((kind, [Reminder(patient=patient, kind=kind, channel="email")]))
        else:
            for visit in (consultation, treatment):
                cases.append((kind, [Reminder(appointment=visit, kind=kind, channel="email")]))
    for kinds in (
        [ReminderKind.CONFIRMATION],
        [ReminderKind.RESCHEDULED_NOTICE],
        [ReminderKind.CANCELLED_NOTICE],
        [ReminderKind.CONFIRMATION, ReminderKind.CANCELLED_NOTICE],
    ):
        batch = uuid.uuid4()
        cases.append(
            (
                "batch",
                [
                    Reminder(appointment=visit, kind=kind, channel="email", batch=batch)
                    for visit, kind in zip((consultation, treatment), kinds, strict=False)
                ],
            )
        )
    return cases


def test_every_rendered_subject_with_a_time_names_the_zone():
    with_time = []
    for kind, rows in rows_of_every_kind():
        for row in rows:
            row.due_at = row.due_at or dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
        subject = render_message(rows, channel="email").subject
        assert subject, kind
        if TIME.search(subject):
            with_time.append(kind)
            assert TIME_WITH_ZONE.search(subject), f"{kind}: {subject!r} has a time without zone"
    assert ReminderKind.INFUSION_2H in with_time
