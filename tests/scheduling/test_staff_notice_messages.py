"""What the patient reads after a staff change (issue 17, item 3): "we moved / we had to cancel",
the old time of a move, the reason staff picked in plain words, and how to book again; a change
the patient made reads as before."""

from __future__ import annotations

import pytest
from django.conf import settings

from scheduling import booking
from scheduling.models import NoticeReason, Reminder, ReminderKind
from scheduling.notices import ChangeNotice
from scheduling.reminders.messages import render_reminder
from tests.clinic_time import THURSDAY, TUESDAY, WEDNESDAY, at, stopped_clock
from tests.factories import PatientFactory, consult_clinic, consultation_at
from tests.scheduling.test_staff_change_notices import staff_cancel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    yield from stopped_clock(at(TUESDAY, 7))


@pytest.fixture
def visit(db):
    clinic = consult_clinic()
    return consultation_at(
        clinic, at(WEDNESDAY, 10), patient=PatientFactory(first_name="Robin", email="r@example.com")
    )


def the_notice(appointment) -> Reminder:
    return Reminder.objects.select_related("appointment__patient").get(
        appointment=appointment,
        kind__in=[ReminderKind.RESCHEDULED_NOTICE, ReminderKind.CANCELLED_NOTICE],
    )


def test_a_staff_move_says_we_moved_it_from_when_to_when_and_why(visit, front_desk):
    booking.appointment_move(
        appointment_id=visit.pk,
        new_start=at(THURSDAY, 11),
        actor=front_desk,
        notice=ChangeNotice(reason=NoticeReason.CLINICIAN_UNAVAILABLE),
    )

    message = render_reminder(the_notice(visit))

    assert message.subject == "We moved your consultation to Thu, Jan 7, 2027"
    for body in (message.text, message.html):
        assert "We have moved your consultation to Thu, Jan 7, 2027 at 11:00 a.m." in body
        assert "It is no longer on Wed, Jan 6, 2027 at 10:00 a.m. (Pacific time)." in body
        assert "This is because your clinician is not available then." in body
        assert "If the new time does not suit you" in body and settings.CLINIC_PHONE in body
    assert "/p/" in message.text  # the patient's page, to choose another time


def test_a_staff_cancel_says_why_and_how_to_book_again(visit, front_desk):
    staff_cancel(visit, front_desk, "Closed for training", reason=NoticeReason.CLOSURE)

    message = render_reminder(the_notice(visit))

    assert message.subject == "We had to cancel your consultation on Wed, Jan 6, 2027"
    for body in (message.text, message.html):
        assert "we had to cancel your consultation on Wed, Jan 6, 2027" in body
        assert "This is because the clinic is closed that day." in body
        assert "Closed for training" not in body  # staff's own words stay in the history
        assert settings.CLINIC_PHONE in body
    assert "To book another time" in message.text


def test_a_staff_cancel_without_a_reason_gives_none(visit, front_desk):
    staff_cancel(visit, front_desk)

    message = render_reminder(the_notice(visit))

    assert "This is because" not in message.text
    assert "is cancelled" in message.text and "To book another time" in message.text
