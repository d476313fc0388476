"""Hostile input to the public booking pages: the landing page, the week of times, the hold, the
details form, the link request, and the patient's own pages (cancel, reschedule). Never a 500,
text reflected escaped, and nothing the service decides (status, room, clinician, patient,
channel) taken from the request."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import time_machine
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import given
from hypothesis import strategies as st

from intake.links import patient_link_token
from intake.models import Patient
from scheduling.booking_tokens import booking_confirm_token
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookedVia,
    BookingRequest,
    RoomKind,
    SlotHold,
)
from tests.clinic_time import MONDAY, TUESDAY, at, stopped_clock
from tests.eager import eager_tasks
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    SlotHoldFactory,
    open_weekdays,
)
from tests.hostile import (
    HOSTILE,
    MASS_ASSIGNMENT_KEYS,
    assert_escaped,
    assert_no_500,
    form_value,
    hostile_data,
    text_value,
)

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)
DETAILS = {
    "first_name": "Robin",
    "last_name": "O'Example",
    "date_of_birth": "03/27/1980",
    "email": "robin.example@example.test",
    "mobile": "(916) 555-0123",
    "consent_email": "on",
}
DETAIL_FIELDS = (*DETAILS, "consent_sms", "website", "alternative")
_keys = itertools.count()


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[time_machine.Traveller]:
    yield from stopped_clock(NOW)


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    with eager_tasks():
        yield


@pytest.fixture(autouse=True)
def _generous_limits(settings) -> None:
    """Rate limits would answer 429 (also fine) to most examples; lift them to reach the forms."""
    settings.BOOKING_RATE_PER_IP_PER_HOUR = 100_000
    settings.BOOKING_RATE_PER_EMAIL_PER_DAY = 100_000
    settings.LINK_REQUEST_RATE_PER_IP_PER_HOUR = 100_000


@pytest.fixture
def clinic(db) -> SimpleNamespace:
    """As tests/scheduling's online_clinic, plus a decoy clinician, infusion room and patient that
    a request might try to assign."""
    open_weekdays()
    return SimpleNamespace(
        consultation=AppointmentTypeFactory(),
        room=RoomFactory(name="Consult A"),
        clinician=ClinicianFactory(display_name="Dr Example"),
        decoy_clinician=ClinicianFactory(display_name="Dr Decoy", weekday_hours=False),
        decoy_room=RoomFactory(name="Infusion 9", kind=RoomKind.INFUSION),
        decoy_patient=PatientFactory(first_name="Decoy"),
    )


def fresh_hold(clinic: SimpleNamespace) -> SlotHold:
    return SlotHoldFactory(
        key=f"hostile-hold-key-{next(_keys):08d}",
        appointment_type=clinic.consultation,
        start=at(TUESDAY, 15),
        room=clinic.room,
        clinician=clinic.clinician,
    )


def clean_bookings() -> None:
    BookingRequest.objects.all().delete()
    Appointment.objects.all().delete()
    SlotHold.objects.all().delete()


query = st.dictionaries(
    st.one_of(st.sampled_from(("week", "next", "page", "start", "rows")), st.text(max_size=20)),
    text_value,
    max_size=4,
)


@HOSTILE
@given(params=query)
def test_landing_booking_and_link_pages_take_any_query_string(clinic, params):
    client = Client()
    for url in ("/", reverse("scheduling:book"), reverse("scheduling:link_request")):
        response = client.get(url, params)
        assert_no_500(response)
        assert response.status_code == 200
        assert_escaped(response, params)


@HOSTILE
@given(data=hostile_data(("start",)))
def test_the_hold_post_takes_anything(clinic, data):
    try:
        response = Client().post(reverse("scheduling:book_hold"), data)
        assert_no_500(response)
        assert response.status_code in (302, 409, 429)
        assert_escaped(response, data)
    finally:
        clean_bookings()


details_data = st.one_of(
    hostile_data(DETAIL_FIELDS),
    hostile_data(DETAIL_FIELDS).map(lambda d: {**DETAILS, **d}),
)


@HOSTILE
@given(data=details_data)
def test_the_details_post_takes_anything(clinic, data, django_capture_on_commit_callbacks):
    hold = fresh_hold(clinic)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(reverse("scheduling:book_details", args=[hold.key]), data)
        assert_no_500(response)
        assert_escaped(response, data)
        for appointment in Appointment.objects.select_related("patient"):
            assert appointment.status == AppointmentStatus.BOOKED
            assert appointment.booked_via == BookedVia.ONLINE
            assert (appointment.room, appointment.clinician) == (clinic.room, clinic.clinician)
            assert appointment.patient != clinic.decoy_patient
    finally:
        clean_bookings()


@HOSTILE
@given(
    extra=st.fixed_dictionaries(
        {
            "status": st.sampled_from(["cancelled", "no_show", "completed", "checked_in", "x"]),
            "booked_via": st.sampled_from(["staff", "phone", "online"]),
            "clearance": st.sampled_from(["cleared", "1", "true"]),
            "is_staff": st.sampled_from(["on", "1", "true"]),
            "start": st.sampled_from(["2027-01-06T10:00:00-08:00", "2027-01-05T09:00:00-08:00"]),
        }
    ),
    seed=st.integers(0, 10**6),
)
def test_a_booking_takes_status_room_clinician_and_patient_from_the_service(
    clinic, extra, seed, django_capture_on_commit_callbacks
):
    hold = fresh_hold(clinic)
    email = f"hostile{seed}-{next(_keys)}@example.test"
    data = {
        **DETAILS,
        "email": email,
        **extra,
        "clinician": str(clinic.decoy_clinician.pk),
        "clinician_id": str(clinic.decoy_clinician.pk),
        "room": str(clinic.decoy_room.pk),
        "room_id": str(clinic.decoy_room.pk),
        "patient": str(clinic.decoy_patient.pk),
        "patient_id": str(clinic.decoy_patient.pk),
    }
    client = Client()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("scheduling:book_details", args=[hold.key]), data)
        assert response.status_code == 302, response.content.decode()[:500]
        assert not Appointment.objects.exists()  # nothing is booked before the emailed link
        request = BookingRequest.objects.get()
        assert (request.email, request.start, request.hold_key) == (email, hold.start, hold.key)
        token = booking_confirm_token(request.pk)
        client.get(reverse("scheduling:book_confirm_link", args=[token]))
        with django_capture_on_commit_callbacks(execute=True):
            confirmed = client.post(reverse("scheduling:book_confirm"), data)
        assert confirmed.status_code == 302, confirmed.content.decode()[:500]
        appointment = Appointment.objects.select_related("patient").get()
        assert appointment.status == AppointmentStatus.BOOKED
        assert appointment.booked_via == BookedVia.ONLINE
        assert appointment.start == hold.start
        assert (appointment.room, appointment.clinician) == (clinic.room, clinic.clinician)
        assert appointment.patient != clinic.decoy_patient
        assert appointment.patient.email == email
        clinic.decoy_patient.refresh_from_db()
        assert clinic.decoy_patient.first_name == "Decoy"
    finally:
        clean_bookings()


@HOSTILE
@given(data=hostile_data(("email",)))
def test_the_link_request_takes_anything(clinic, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(reverse("scheduling:link_request"), data)
    assert_no_500(response)
    assert response.status_code in (200, 302, 429)
    assert_escaped(response, data)


@pytest.fixture
def booked(clinic) -> SimpleNamespace:
    patient = PatientFactory()
    return SimpleNamespace(patient=patient, token=patient_link_token(patient))


def book_for(clinic: SimpleNamespace, patient: Patient) -> Appointment:
    return AppointmentFactory(
        patient=patient,
        appointment_type=clinic.consultation,
        room=clinic.room,
        clinician=clinic.clinician,
        start=at(dt.date(2027, 1, 7), 10),
        end=at(dt.date(2027, 1, 7), 11),
    )


@HOSTILE
@given(
    data=hostile_data(("reason",)),
    params=query,
)
def test_the_patient_cancel_page_takes_anything(clinic, booked, data, params):
    appointment = book_for(clinic, booked.patient)
    try:
        client = Client()
        home = client.get(reverse("scheduling:patient_home", args=[booked.token]), params)
        assert_no_500(home)
        url = reverse("scheduling:patient_cancel", args=[booked.token, appointment.pk])
        response = client.post(url, data)
        assert_no_500(response)
        assert_escaped(response, data)
        appointment.refresh_from_db()
        assert appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED)
        assert (appointment.room, appointment.clinician) == (clinic.room, clinic.clinician)
        assert appointment.patient == booked.patient
    finally:
        clean_bookings()


@HOSTILE
@given(data=hostile_data(("start", "key")), params=query)
def test_the_patient_reschedule_pages_take_anything(clinic, booked, data, params):
    appointment = book_for(clinic, booked.patient)
    args = [booked.token, appointment.pk]
    try:
        client = Client()
        picker = client.get(reverse("scheduling:patient_reschedule", args=args), params)
        assert_no_500(picker)
        assert_escaped(picker, params)
        confirm_url = reverse("scheduling:patient_reschedule_confirm", args=args)
        confirm = client.get(confirm_url, {k: v for k, v in data.items() if k == "start"})
        assert_no_500(confirm)
        response = client.post(confirm_url, data)
        assert_no_500(response)
        assert_escaped(response, data)
        for moved in Appointment.objects.filter(patient=booked.patient):
            assert moved.status in (AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED)
            assert moved.clinician in (clinic.clinician, None)
            assert moved.room == clinic.room
    finally:
        clean_bookings()


@HOSTILE
@given(token=text_value, value=form_value)
def test_a_hostile_token_in_the_address_is_a_calm_404(clinic, token, value):
    token = token.replace("/", "").strip() or "x"
    client = Client()
    for name, args in (
        ("scheduling:patient_home", [token]),
        ("scheduling:patient_cancel", [token, 1]),
        ("scheduling:book_confirm_link", [token]),
        ("scheduling:book_details", [token]),
    ):
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:  # a token the URL pattern cannot hold
            continue
        response = client.post(url, {"x": value}) if "cancel" in name else client.get(url)
        assert_no_500(response)
        assert response.status_code in (302, 404, 405)
    # The confirmation page with whatever the link put in the session: calm, nothing booked.
    for response in (
        client.get(reverse("scheduling:book_confirm")),
        client.post(reverse("scheduling:book_confirm"), {"alternative": value}),
    ):
        assert_no_500(response)
        assert response.status_code == 410
    assert not Appointment.objects.exists()


def test_mass_assignment_keys_are_not_form_fields():
    from scheduling.online.public_forms import BookingDetailsForm, CancelForm, RescheduleForm

    for form in (BookingDetailsForm(), CancelForm(), RescheduleForm()):
        assert not set(form.fields) & set(MASS_ASSIGNMENT_KEYS)
