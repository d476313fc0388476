"""The patient's own page by signed link: their appointments only, in clinic time, with calendar
files; a bad token or someone else's appointment is the same 404 with no data, a revoked or expired
link 410 (intake.link_pages). The swap of token for session: tests/intake/test_link_sessions.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from icalendar import Calendar

from intake.links import patient_link_token, patient_links_revoke
from intake.models import SubmissionStatus
from scheduling.models import AppointmentStatus, RoomKind
from tests.clinic_time import at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    RoomFactory,
)
from tests.patient_links import open_link, open_session

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def booked(online_clinic, patient):
    """The patient's appointments: one of each kind a patient page must show."""
    consultation = online_clinic.consultation
    infusion_type = AppointmentTypeFactory(
        code="infusion",
        name="Infusion visit",
        duration_minutes=120,
        room_kind=RoomKind.INFUSION,
        self_bookable=False,
    )

    def make(start, **kwargs):
        return AppointmentFactory(
            patient=patient,
            room=kwargs.pop("room", online_clinic.room),
            clinician=online_clinic.clinician,
            appointment_type=kwargs.pop("appointment_type", consultation),
            start=start,
            **kwargs,
        )

    return {
        "changeable": make(at(dt.date(2027, 1, 6), 15)),
        "too_close": make(at(dt.date(2027, 1, 5), 11)),  # 23 hours away
        "infusion": make(
            at(dt.date(2027, 1, 8), 10),
            appointment_type=infusion_type,
            room=RoomFactory(infusion=True),
        ),
        "past": make(at(dt.date(2026, 12, 15), 10), status=AppointmentStatus.COMPLETED),
        "cancelled": make(at(dt.date(2027, 1, 7), 10), status=AppointmentStatus.CANCELLED),
    }


def home(client, patient):
    return open_link(client, reverse("scheduling:patient_home", args=[patient_link_token(patient)]))


def test_the_page_lists_the_patients_appointments_in_clinic_time(client, patient, booked):
    response = home(client, patient)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Hello, {patient.first_name}" in page
    upcoming, earlier = page.split("Past and cancelled")
    assert "Wed, Jan 6, 2027, 3:00 p.m." in upcoming
    assert "Tue, Jan 5, 2027, 11:00 a.m." in upcoming
    assert "Infusion visit" in upcoming and "Fri, Jan 8, 2027, 10:00 a.m." in upcoming
    # What became of each earlier visit, in the one wording (scheduling.online.visit_status).
    assert "You came to your consultation on Tue, Dec 15, 2026 at 10:00 a.m." in earlier
    assert "Your consultation on Thu, Jan 7, 2027 at 10:00 a.m. was cancelled." in earlier
    assert "Cancelled" in earlier
    assert "Times are Pacific time." in page


def test_only_consultations_outside_the_cutoff_offer_change_buttons(client, patient, booked):
    page = home(client, patient).content.decode()
    token = "me"
    for name in ("patient_reschedule", "patient_cancel"):
        assert reverse(f"scheduling:{name}", args=[token, booked["changeable"].pk]) in page
        for other in ("too_close", "infusion", "past", "cancelled"):
            assert reverse(f"scheduling:{name}", args=[token, booked[other].pk]) not in page
    assert page.count("To change this appointment, call us at (916) 915-9215.") == 2


def test_each_upcoming_appointment_has_a_calendar_file(client, patient, booked):
    page = home(client, patient).content.decode()
    token = "me"
    assert reverse("scheduling:patient_ics", args=[token, booked["changeable"].pk]) in page
    response = client.get(reverse("scheduling:patient_ics", args=[token, booked["changeable"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="appointment-2027-01-06.ics"'
    assert "no-store" in response["Cache-Control"]
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == at(dt.date(2027, 1, 6), 15)


@pytest.mark.parametrize(
    ("status", "text", "button"),
    [
        (None, "You have not started the questionnaire yet.", "Start your health questionnaire"),
        (SubmissionStatus.DRAFT, "and have not sent it yet.", "Continue your questionnaire"),
        (SubmissionStatus.SUBMITTED, "Your questionnaire was received on", None),
    ],
)
def test_the_questionnaire_status_and_link(client, patient, online_clinic, status, text, button):
    if status is not None:
        IntakeSubmissionFactory(
            patient=patient,
            status=status,
            submitted_at=NOW if status == SubmissionStatus.SUBMITTED else None,
        )
    page = home(client, patient).content.decode()
    assert text in page
    link = reverse("intake:start", args=["me"])
    assert (f'href="{link}"' in page) == (button is not None)
    if button:
        assert button in page


def test_patient_pages_are_private_to_caches_and_referrers(client, patient, booked):
    response = home(client, patient)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"


def tampered(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


@pytest.mark.parametrize(
    ("kind", "status", "text"),
    [
        ("garbage", 404, "This link does not work"),
        ("tampered", 404, "This link does not work"),
        ("expired", 410, "This link no longer works"),
        ("revoked", 410, "This link no longer works"),
        ("superseded", 410, "This link no longer works"),
    ],
)
def test_a_bad_link_shows_nothing_and_offers_a_new_one(
    client, patient, booked, frozen, kind, status, text
):
    token = patient_link_token(patient)
    if kind == "garbage":
        token = "not-a-token"
    elif kind == "tampered":
        token = tampered(token)
    elif kind == "expired":
        frozen.shift(dt.timedelta(days=31))
    else:
        patient_links_revoke(patient_id=patient.pk)
        if kind == "superseded":
            patient.refresh_from_db()
            patient_link_token(patient)  # the newer link the patient was sent
    for name, args in (
        ("patient_home", [token]),
        ("patient_ics", [token, booked["changeable"].pk]),
        ("patient_cancel", [token, booked["changeable"].pk]),
        ("patient_reschedule", [token, booked["changeable"].pk]),
    ):
        response = client.get(reverse(f"scheduling:{name}", args=args))
        assert response.status_code == status, name
        page = response.content.decode()
        assert patient.first_name not in page
        assert text in page
        assert "(916) 915-9215" in page
        assert f'action="{reverse("scheduling:link_request")}"' in page
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]
        assert response["Referrer-Policy"] == "same-origin"


def test_another_patients_appointment_is_a_404_with_no_data(client, patient, booked):
    stranger = PatientFactory(first_name="Stranger")
    theirs = AppointmentFactory(patient=stranger, start=at(dt.date(2027, 1, 12), 15))
    token = patient_link_token(patient)
    me = open_session(client, patient)
    for name in ("patient_ics", "patient_cancel", "patient_reschedule"):
        response = client.get(reverse(f"scheduling:{name}", args=[me, theirs.pk]))
        assert response.status_code == 404, name
        assert "Stranger" not in response.content.decode()
    response = client.post(reverse("scheduling:patient_cancel", args=[token, theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED
    assert "Stranger" not in home(client, patient).content.decode()


def test_a_fresh_link_works_after_an_old_one_expired(client, patient, booked, frozen):
    old = patient_link_token(patient)
    frozen.shift(dt.timedelta(days=31))
    assert client.get(reverse("scheduling:patient_home", args=[old])).status_code == 410
    assert home(client, patient).status_code == 200


def test_refusals_do_not_write_the_link_into_the_log(client, patient, booked, caplog):
    token = patient_link_token(patient)
    stranger = AppointmentFactory(start=at(dt.date(2027, 1, 12), 15))
    with caplog.at_level("INFO"):
        client.get(reverse("scheduling:patient_ics", args=[token, stranger.pk]))
        client.get(reverse("scheduling:patient_home", args=[tampered(token)]))
    assert caplog.records
    assert token[:20] not in caplog.text
