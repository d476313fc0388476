"""Appointment pages: book through the pages, move, cancel, check in, complete, no-show; clashes
come back as the service's message; hostile input; who may use each page."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from propel.models import AuditEvent
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    BookedVia,
)
from scheduling.visits import visit_check_in
from tests.clinic_time import SATURDAY, THURSDAY, TUESDAY, WEDNESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ExtraOpeningFactory,
    PatientFactory,
    RoomFactory,
    consultation_at,
    open_weekdays,
)
from tests.personas import verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

NEW = reverse("scheduling:appointment_new")


@pytest.fixture
def clinic(db) -> SimpleNamespace:
    open_weekdays()
    return SimpleNamespace(
        consultation=AppointmentTypeFactory(),
        infusion=AppointmentTypeFactory(infusion=True),
        room=RoomFactory(name="Consult A"),
        infusion_room=RoomFactory(name="Infusion 1", kind="infusion"),
        clinician=ClinicianFactory(display_name="Dr Example"),
        patient=PatientFactory(
            first_name="Robin",
            last_name="Sample",
            date_of_birth=dt.date(1985, 3, 2),
            mobile="+19165550123",
        ),
    )


@pytest.fixture
def staff(client_for, front_desk) -> Client:
    return client_for(front_desk)


def booking(clinic, **overrides) -> dict:
    data = {
        "patient": clinic.patient.pk,
        "appointment_type": clinic.consultation.pk,
        "date": WEDNESDAY.isoformat(),
        "time": "09:00",
    }
    return {**data, **overrides}


def detail(appointment) -> str:
    return reverse("scheduling:appointment", kwargs={"appointment_id": appointment.pk})


# --- Create -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["(916) 555-0123", "916.555.0123", "03/02/1985", "1985-03-02", "robin sam"]
)
def test_patient_search_finds_by_phone_date_of_birth_or_name(staff, clinic, query):
    PatientFactory(first_name="Other", mobile="+19165550999", date_of_birth=dt.date(1990, 1, 1))
    response = staff.get(NEW, {"q": query})
    assert response.status_code == 200
    assert response.context["patients"] == [clinic.patient]
    body = response.content.decode()
    assert "Mar 2, 1985" in body and "(916) 555-0123" in body


def test_booking_through_the_pages_offers_free_slots_and_books_as_staff(staff, clinic, front_desk):
    step2 = staff.get(
        NEW,
        {
            "patient": clinic.patient.pk,
            "appointment_type": clinic.consultation.pk,
            "date": "2027-01-06",
        },
    )
    assert step2.status_code == 200
    starts = [slot.start for slot in step2.context["slots"]]
    assert starts[0] == at(WEDNESDAY, 9)
    assert step2.context["slots"][0].rooms == [clinic.room]
    response = staff.post(NEW, booking(clinic))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(appointment)
    assert appointment.start == at(WEDNESDAY, 9)
    assert (appointment.room, appointment.clinician) == (clinic.room, clinic.clinician)
    assert appointment.booked_by == front_desk and appointment.booked_via == BookedVia.STAFF
    assert AppointmentStatusChange.objects.filter(appointment=appointment).count() == 1
    assert AuditEvent.objects.filter(action="appointment.booked", actor=front_desk).exists()
    page = staff.get(response["Location"])
    assert "The appointment was booked." in page.content.decode()


def test_staff_may_book_an_open_saturday(staff, clinic):
    ExtraOpeningFactory(date=SATURDAY, opens=dt.time(9), closes=dt.time(13))
    step2 = staff.get(
        NEW,
        {
            "patient": clinic.patient.pk,
            "appointment_type": clinic.consultation.pk,
            "date": "2027-01-09",
        },
    )
    assert step2.context["slots"]
    response = staff.post(NEW, booking(clinic, date=SATURDAY.isoformat(), time="10:00"))
    assert response.status_code == 302
    assert Appointment.objects.get().start == at(SATURDAY, 10)


def test_double_booking_names_the_room_and_keeps_the_input(staff, clinic):
    AppointmentFactory(room=clinic.room, start=at(WEDNESDAY, 10))
    response = staff.post(NEW, booking(clinic, time="10:00", room=clinic.room.pk))
    assert response.status_code == 409
    assert "Consult A is already booked at that time." in response.content.decode()
    assert response.context["form"].data["time"] == "10:00"
    assert Appointment.objects.count() == 1


def test_a_time_in_the_past_is_refused(staff, clinic):
    response = staff.post(NEW, booking(clinic, date="2027-01-04", time="10:00"))
    assert response.status_code == 409
    assert "That time has already passed" in response.content.decode()
    assert not Appointment.objects.exists()


def test_an_uncleared_patient_cannot_be_booked_for_an_infusion(staff, clinic):
    response = staff.post(NEW, booking(clinic, appointment_type=clinic.infusion.pk))
    assert response.status_code == 409
    assert "This appointment needs a clinician&#x27;s clearance." in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"date": "2027-02-30"},
        {"date": "tomorrow"},
        {"time": "25:99"},
        {"appointment_type": "999"},
        {"patient": "999999"},
        {"time": ""},
    ],
)
def test_bad_booking_input_is_a_form_error_not_a_500(staff, clinic, overrides):
    response = staff.post(NEW, booking(clinic, **overrides))
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not Appointment.objects.exists()


def test_status_and_booker_fields_in_the_post_are_ignored(staff, clinic, front_desk, admin_user):
    response = staff.post(
        NEW,
        booking(clinic, status="completed", booked_via="online", booked_by=admin_user.pk, end="x"),
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.booked_via == BookedVia.STAFF and appointment.booked_by == front_desk
    assert appointment.end == at(WEDNESDAY, 10)


# --- Detail and status changes ------------------------------------------------------------------


def test_detail_shows_contact_time_room_and_history(staff, clinic):
    appointment = AppointmentFactory(
        patient=clinic.patient, room=clinic.room, clinician=clinic.clinician, start=at(WEDNESDAY, 9)
    )
    body = staff.get(detail(appointment)).content.decode()
    for text in (
        "Robin Sample",
        "(916) 555-0123",
        "Consult A",
        "Dr Example",
        "9:00 a.m.",
        "No screening sent yet",
    ):
        assert text in body


def post_status(client: Client, appointment, status: str):
    url = reverse("scheduling:appointment_status", kwargs={"appointment_id": appointment.pk})
    return client.post(url, {"status": status})


def test_one_click_check_in_is_refused_with_what_is_missing_and_where(staff, clinic, front_desk):
    appointment = AppointmentFactory(room=clinic.room, start=at(TUESDAY, 9))
    response = post_status(staff, appointment, "checked_in")
    assert response.status_code == 409
    page = response.content.decode()
    assert "Confirm the patient&#x27;s identity at check-in." in page
    visit_url = reverse("scheduling:visit", args=[appointment.pk])
    assert f'href="{visit_url}#check-in"' in page
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert not appointment.status_changes.exists()


def test_a_consultation_checked_in_on_the_visit_screen_completes_in_one_click(
    staff, clinic, front_desk
):
    appointment = AppointmentFactory(room=clinic.room, start=at(TUESDAY, 9))
    visit_check_in(appointment_id=appointment.pk, actor=front_desk, identity_confirmed=True)
    assert post_status(staff, appointment, "completed").status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    assert list(appointment.status_changes.values_list("to_status", flat=True)) == [
        "checked_in",
        "completed",
    ]
    assert AuditEvent.objects.filter(action="appointment.completed", actor=front_desk).exists()


def test_no_show_only_after_the_start_time_and_then_nothing_else(staff, clinic):
    appointment = AppointmentFactory(start=at(TUESDAY, 9))
    early = post_status(staff, appointment, "no_show")
    assert early.status_code == 409
    assert "only be recorded after the start time (9:00 a.m.)" in early.content.decode()
    # (the clock is 7:00 on the Tuesday) an early appointment that has started:
    appointment = AppointmentFactory(start=at(TUESDAY, 6, 30))
    assert post_status(staff, appointment, "no_show").status_code == 302
    response = post_status(staff, appointment, "checked_in")
    assert response.status_code == 409
    assert "This appointment is no-show" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


def test_the_status_form_cannot_cancel_or_set_arbitrary_states(staff, clinic):
    appointment = AppointmentFactory(start=at(WEDNESDAY, 9))
    for status in ("cancelled", "booked", "bogus"):
        assert post_status(staff, appointment, status).status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_cancel_needs_a_reason_and_records_it(staff, clinic, front_desk):
    appointment = AppointmentFactory(start=at(WEDNESDAY, 9))
    url = reverse("scheduling:appointment_cancel", kwargs={"appointment_id": appointment.pk})
    assert staff.post(url, {"reason": ""}).status_code == 400
    assert staff.post(url, {"reason": "Patient has the flu"}).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    change = appointment.status_changes.last()
    assert change.reason == "Patient has the flu" and change.by == front_desk
    assert AuditEvent.objects.filter(action="appointment.cancelled").exists()


# --- Move ---------------------------------------------------------------------------------------


def move_url(appointment) -> str:
    return reverse("scheduling:appointment_move", kwargs={"appointment_id": appointment.pk})


def test_move_offers_free_slots_and_moves(staff, clinic):
    appointment = consultation_at(clinic, at(WEDNESDAY, 10), patient=clinic.patient)
    page = staff.get(move_url(appointment), {"date": "2027-01-07"})
    assert page.status_code == 200
    assert at(THURSDAY, 11) in [slot.start for slot in page.context["slots"]]
    response = staff.post(move_url(appointment), {"date": "2027-01-07", "time": "11:00"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == at(THURSDAY, 11) and appointment.end == at(THURSDAY, 12)
    assert appointment.room == clinic.room


def test_moving_into_a_clash_is_refused_with_the_room_named(staff, clinic):
    appointment = consultation_at(clinic, at(WEDNESDAY, 10), patient=clinic.patient)
    AppointmentFactory(room=clinic.room, start=at(THURSDAY, 14))
    response = staff.post(
        move_url(appointment), {"date": "2027-01-07", "time": "14:00", "room": clinic.room.pk}
    )
    assert response.status_code == 409
    assert "Consult A is already booked at that time." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(WEDNESDAY, 10)


def test_move_with_a_bad_date_is_a_form_error(staff, clinic):
    appointment = AppointmentFactory(start=at(WEDNESDAY, 10))
    response = staff.post(move_url(appointment), {"date": "2027-99-01", "time": "11:00"})
    assert response.status_code == 400
    assert response.context["move_form"].errors["date"]


# --- Hostile ids and access ---------------------------------------------------------------------


def test_an_appointment_that_does_not_exist_is_404_everywhere(staff, clinic):
    missing = SimpleNamespace(pk=987654)
    assert staff.get(detail(missing)).status_code == 404
    assert post_status(staff, missing, "checked_in").status_code == 404
    assert staff.get(move_url(missing)).status_code == 404
    cancel = reverse("scheduling:appointment_cancel", kwargs={"appointment_id": missing.pk})
    assert staff.post(cancel, {"reason": "x"}).status_code == 404


def pages(appointment) -> list[tuple[str, str]]:
    """Every calendar URL with the method it is used with."""
    kwargs = {"appointment_id": appointment.pk}
    return [
        ("get", reverse("scheduling:calendar")),
        ("get", reverse("scheduling:calendar_week")),
        ("get", NEW),
        ("get", reverse("scheduling:appointment", kwargs=kwargs)),
        ("get", reverse("scheduling:appointment_move", kwargs=kwargs)),
        ("post", reverse("scheduling:appointment_status", kwargs=kwargs)),
        ("post", reverse("scheduling:appointment_cancel", kwargs=kwargs)),
        ("post", reverse("scheduling:appointment_move", kwargs=kwargs)),
        ("post", NEW),
    ]


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user", "admin_user"])
def test_every_calendar_role_may_use_every_page(request, clinic, persona):
    client = verified_client(request.getfixturevalue(persona))
    appointment = AppointmentFactory(start=at(WEDNESDAY, 9))
    for method, url in pages(appointment):
        response = getattr(client, method)(url)
        # An empty POST is a form error: the view ran.
        assert response.status_code == (200 if method == "get" else 400), (method, url)


def test_a_user_without_a_role_is_refused_everywhere(no_role_user, clinic):
    client = verified_client(no_role_user)
    appointment = AppointmentFactory(start=at(WEDNESDAY, 9))
    for method, url in pages(appointment):
        assert (
            getattr(client, method)(url, {"status": "checked_in", "reason": "x"}).status_code == 403
        )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_anonymous_visitors_go_to_the_login_page(clinic):
    appointment = AppointmentFactory(start=at(WEDNESDAY, 9))
    for method, url in pages(appointment):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("propel:login"))


def test_staff_without_the_second_factor_go_to_it(front_desk, clinic):
    client = Client()
    client.force_login(front_desk)
    appointment = AppointmentFactory(start=at(WEDNESDAY, 9))
    for method, url in pages(appointment):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("propel:second_factor")


def test_the_navbar_links_the_calendar_for_calendar_roles_only(
    client_for, front_desk, no_role_user
):
    calendar = reverse("scheduling:calendar")
    assert (
        f'href="{calendar}"'
        in client_for(front_desk).get(reverse("scheduling:today")).content.decode()
    )
    assert (
        f'href="{calendar}"'
        not in client_for(no_role_user).get(reverse("propel:home")).content.decode()
    )
