"""Closing the clinic over booked visits (issue 17, item 3): the staff closure page lists the
visits before anything is saved (in a fixed number of queries), then cancels them, notifies each
patient once (one batch per patient) and leaves them to rebook; saving without handling them is
refused, from the page, the service and the Django admin alike."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse

from scheduling.closures import closure_save
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Closure,
    NoticeReason,
    Reminder,
    ReminderKind,
)
from tests.clinic_time import MONDAY, THURSDAY, TUESDAY, WEDNESDAY, at, stopped_clock
from tests.factories import PatientFactory, consult_clinic, consultation_at
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

NEW = reverse("scheduling:closure_new")


@pytest.fixture(autouse=True)
def clock():
    yield from stopped_clock(at(MONDAY, 7))


@pytest.fixture
def clinic(db) -> SimpleNamespace:
    clinic = consult_clinic()
    robin = PatientFactory(first_name="Robin", last_name="Early", email="robin@example.com")
    sam = PatientFactory(first_name="Sam", last_name="Later", email="sam@example.com")
    clinic.visits = [
        consultation_at(clinic, at(TUESDAY, 9), patient=robin),
        consultation_at(clinic, at(TUESDAY, 14), patient=robin),
        consultation_at(clinic, at(WEDNESDAY, 10), patient=sam),
    ]
    clinic.outside = consultation_at(clinic, at(THURSDAY, 10), patient=sam)
    clinic.robin, clinic.sam = robin, sam
    return clinic


@pytest.fixture
def desk(client_for, front_desk):
    return client_for(front_desk)


def closing(**overrides) -> dict:
    data = {
        "step": "check",
        "start_date": TUESDAY.isoformat(),
        "end_date": WEDNESDAY.isoformat(),
        "reason": "Staff training",
        "notice_reason": NoticeReason.CLOSURE,
    }
    return {**data, **overrides}


def notices() -> list[Reminder]:
    return list(Reminder.objects.filter(kind=ReminderKind.CANCELLED_NOTICE))


def statuses(appointments: list[Appointment]) -> list[str]:
    return [Appointment.objects.get(pk=a.pk).status for a in appointments]


def test_the_closure_page_lists_the_visits_before_saving_anything(clinic, desk):
    response = desk.post(NEW, closing())

    assert response.status_code == 200
    assert [visit.pk for visit in response.context["hits"]] == [v.pk for v in clinic.visits]
    html = response.content.decode()
    assert "Robin Early" in html and "Sam Later" in html and "9:00 a.m." in html
    assert 'id="closure-confirm"' in html
    assert not Closure.objects.exists()
    assert statuses(clinic.visits) == [AppointmentStatus.BOOKED] * 3 and notices() == []


def test_confirming_cancels_the_visits_and_notifies_each_patient_once(clinic, desk):
    shown = desk.post(NEW, closing())
    cancel = [str(visit.pk) for visit in shown.context["hits"]]

    response = desk.post(NEW, closing(step="confirm", cancel=cancel))

    closure = Closure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:closure", args=[closure.pk])
    assert (closure.start_date, closure.end_date) == (TUESDAY, WEDNESDAY)
    assert statuses(clinic.visits) == [AppointmentStatus.CANCELLED] * 3
    assert statuses([clinic.outside]) == [AppointmentStatus.BOOKED]
    rows = notices()
    assert len(rows) == 3 and {row.reason for row in rows} == {NoticeReason.CLOSURE}
    assert {row.sequence for row in rows} == {1}
    batches = {row.appointment.patient_id: set() for row in rows}
    for row in rows:
        batches[row.appointment.patient_id].add(row.batch)
    # One message per patient: Robin's two visits share a batch, Sam's is another.
    assert all(len(found) == 1 and None not in found for found in batches.values())
    assert batches[clinic.robin.pk] != batches[clinic.sam.pk]

    # Sent: one email to each patient, Robin's listing both visits.
    mail.outbox.clear()
    deliver_due_reminders()
    by_address = {tuple(email.to): email for email in mail.outbox}
    assert len(mail.outbox) == 2 and set(by_address) == {
        ("robin@example.com",),
        ("sam@example.com",),
    }
    robins = by_address[("robin@example.com",)].body
    assert "9:00 a.m." in robins and "2:00 p.m." in robins


def test_confirming_twice_saves_one_closure_and_one_notice_per_visit(clinic, desk):
    cancel = [str(visit.pk) for visit in clinic.visits]
    for _ in range(2):
        assert desk.post(NEW, closing(step="confirm", cancel=cancel)).status_code == 302

    assert Closure.objects.count() == 1 and len(notices()) == 3


def test_the_closure_page_links_each_cancelled_visit_to_a_rebooking(clinic, desk):
    cancel = [str(visit.pk) for visit in clinic.visits]
    desk.post(NEW, closing(step="confirm", cancel=cancel))

    page = desk.get(reverse("scheduling:closure", args=[Closure.objects.get().pk]))

    assert page.status_code == 200
    html = page.content.decode()
    rebook = reverse("scheduling:appointment_new")
    assert html.count(f'href="{rebook}?patient=') == 3
    assert f"patient={clinic.robin.pk}&amp;appointment_type={clinic.consultation.pk}" in html
    response = desk.get(
        rebook,
        {
            "patient": clinic.robin.pk,
            "appointment_type": clinic.consultation.pk,
            "date": THURSDAY.isoformat(),
        },
    )
    assert response.status_code == 200 and response.context["patient"] == clinic.robin


def test_a_visit_booked_after_the_list_was_shown_stops_the_save(clinic, desk):
    shown = [str(visit.pk) for visit in clinic.visits]
    late = consultation_at(clinic, at(WEDNESDAY, 15), patient=PatientFactory())

    response = desk.post(NEW, closing(step="confirm", cancel=shown))

    assert response.status_code == 409
    assert "changed since the list was shown" in response.content.decode()
    assert late in response.context["hits"]
    assert not Closure.objects.exists() and notices() == []
    assert statuses(clinic.visits) == [AppointmentStatus.BOOKED] * 3


def test_a_day_without_visits_closes_at_once(clinic, desk):
    response = desk.post(NEW, closing(start_date="2027-01-08", end_date=""))

    assert response.status_code == 302
    closure = Closure.objects.get()
    assert closure.start_date == closure.end_date
    assert notices() == []


def test_the_service_refuses_to_leave_visits_on_a_closed_day(clinic, front_desk):
    with pytest.raises(SchedulingError) as refused:
        closure_save(start_date=TUESDAY, end_date=TUESDAY, reason="Pipe burst", actor=front_desk)

    assert refused.value.code == "closure_has_visits"
    assert "2 booked visit(s)" in refused.value.message
    assert not Closure.objects.exists()


def test_the_confirm_page_runs_the_same_queries_for_one_visit_or_many(
    clinic, desk, django_assert_max_num_queries
):
    one = closing(start_date=THURSDAY.isoformat(), end_date=THURSDAY.isoformat())
    desk.post(NEW, one)  # warm the session and the user's roles
    with django_assert_max_num_queries(12) as few:
        desk.post(NEW, one)
    for hour in (9, 11, 13, 15, 17):
        consultation_at(clinic, at(THURSDAY, hour), patient=PatientFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = desk.post(NEW, one)
    assert len(response.context["hits"]) == 6


@pytest.mark.parametrize("persona", ["no_role_user", None])
def test_only_calendar_staff_may_close_the_clinic(clinic, client_as, persona):
    response = client_as(persona).post(NEW, closing(step="confirm"))

    assert response.status_code in (302, 403)
    assert not Closure.objects.exists()


def test_hostile_input_is_a_form_error(clinic, desk):
    response = desk.post(NEW, closing(start_date="9999-99-99", end_date="2027-01-01"))

    assert response.status_code == 400
    assert response.context["form"].errors
    backwards = desk.post(NEW, closing(end_date=MONDAY.isoformat()))
    assert backwards.status_code == 400 and backwards.context["form"].errors["end_date"]


# --- The Django admin: the same rule ------------------------------------------------------------


def test_the_admin_refuses_a_closure_over_booked_visits(clinic, admin_user, client_for):
    admin = client_for(admin_user)
    response = admin.post(
        reverse("admin:scheduling_closure_add"),
        {"start_date": TUESDAY.isoformat(), "end_date": WEDNESDAY.isoformat(), "reason": "Holiday"},
    )

    assert response.status_code == 200
    assert "3 booked visit(s)" in response.content.decode()
    assert NEW in response.content.decode()
    assert not Closure.objects.exists()
    assert statuses(clinic.visits) == [AppointmentStatus.BOOKED] * 3


def test_the_admin_saves_a_closure_on_free_days(clinic, admin_user, client_for):
    admin = client_for(admin_user)
    response = admin.post(
        reverse("admin:scheduling_closure_add"),
        {"start_date": "2027-01-08", "end_date": "2027-01-08", "reason": "Holiday"},
    )

    assert response.status_code == 302
    closure = Closure.objects.get()
    stretched = admin.post(
        reverse("admin:scheduling_closure_change", args=[closure.pk]),
        {"start_date": THURSDAY.isoformat(), "end_date": "2027-01-08", "reason": "Holiday"},
    )
    assert stretched.status_code == 200 and "1 booked visit(s)" in stretched.content.decode()
    closure.refresh_from_db()
    assert closure.start_date.isoformat() == "2027-01-08"


def test_the_day_view_offers_to_close_that_day(clinic, desk):
    day = desk.get(reverse("scheduling:calendar"), {"date": TUESDAY.isoformat()})
    link = f"{NEW}?start_date={TUESDAY.isoformat()}"
    assert link in day.content.decode()

    page = desk.get(link)

    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{TUESDAY.isoformat()}"' in html
    assert 'name="notice_reason"' in html and "the clinic is closed that day" in html
