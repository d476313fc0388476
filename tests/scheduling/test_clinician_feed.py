"""Clinicians' calendar feeds (scheduling.calendar.feeds): a signed, revocable address a calendar
app polls, carrying initials and rooms only, in clinic time across a clock change; the staff page
that hands it out and revokes it; and the staff per-appointment calendar file."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.urls import reverse
from icalendar import Calendar

from propel.models import AuditEvent
from scheduling.calendar.feeds import (
    SALT,
    clinician_feed_revoke,
    clinician_feed_token,
    clinician_from_feed_token,
)
from scheduling.models import AppointmentStatus, RoomKind
from tests.clinic_time import at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
)
from tests.personas import STAFF_PAGE_ACCESS

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 3, 1), 8)
BEFORE_CHANGE = dt.date(2027, 3, 10)  # Wednesday, Pacific Standard Time (UTC-8)
AFTER_CHANGE = dt.date(2027, 3, 17)  # Wednesday, Pacific Daylight Time (UTC-7)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def clinician(clinician_user):
    return ClinicianFactory(user=clinician_user, display_name="Dr Feed")


@pytest.fixture
def infusion():
    return AppointmentTypeFactory(infusion=True)


@pytest.fixture
def robin():
    return PatientFactory(
        first_name="Robin", last_name="Quixote", email="robin.quixote@example.test"
    )


@pytest.fixture
def booked(clinician, infusion, robin):
    room = RoomFactory(name="Infusion 2", kind=RoomKind.INFUSION)
    return [
        AppointmentFactory(
            patient=robin,
            appointment_type=infusion,
            room=room,
            clinician=clinician,
            start=at(day, 10),
            sequence=index,
        )
        for index, day in enumerate((BEFORE_CHANGE, AFTER_CHANGE))
    ]


def feed_url(clinician) -> str:
    return reverse("scheduling:clinician_feed", kwargs={"token": clinician_feed_token(clinician)})


def fetch(client, clinician):
    return client.get(feed_url(clinician))


def events(response) -> list:
    calendar = Calendar.from_ical(response.content)
    return sorted(calendar.walk("VEVENT"), key=lambda event: event.decoded("dtstart"))


# --- Tokens -------------------------------------------------------------------------------------


def test_a_token_names_its_clinician(clinician):
    assert clinician_from_feed_token(clinician_feed_token(clinician)) == clinician


def test_revoking_ends_every_token_handed_out(clinician):
    old = clinician_feed_token(clinician)
    clinician_feed_revoke(clinician_id=clinician.pk)
    assert clinician_from_feed_token(old) is None
    clinician.refresh_from_db()
    assert clinician_from_feed_token(clinician_feed_token(clinician)) == clinician


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        signing.dumps({"c": 1, "v": 1}, salt="propel.patient-link.v1"),
        signing.dumps(["c", 1], salt=SALT),
        signing.dumps({"c": "1", "v": 1}, salt=SALT),
    ],
)
def test_a_bad_token_names_nobody(clinician, token):
    assert clinician_from_feed_token(token) is None


# --- The feed -----------------------------------------------------------------------------------


def test_the_feed_is_a_calendar_with_the_clinicians_appointments(client, booked):
    response = fetch(client, booked[0].clinician)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    first, second = events(response)
    assert str(first["summary"]) == "Treatment visit · R.Q."
    assert str(first["location"]) == "Infusion 2"
    assert str(first["uid"]) == f"appointment-{booked[0].pk}@127.0.0.1"
    assert (first["sequence"], second["sequence"]) == (0, 1)
    assert str(first["status"]) == "CONFIRMED"


@pytest.mark.parametrize(
    ("index", "day", "utc_offset_hours"), [(0, BEFORE_CHANGE, -8), (1, AFTER_CHANGE, -7)]
)
def test_ten_oclock_stays_ten_oclock_across_the_march_clock_change(
    client, booked, index, day, utc_offset_hours
):
    response = fetch(client, booked[0].clinician)
    event = events(response)[index]
    assert event["dtstart"].params["TZID"] == "America/Los_Angeles"
    start = event.decoded("dtstart")
    assert start.replace(tzinfo=None) == dt.datetime.combine(day, dt.time(10))
    assert start.utcoffset() == dt.timedelta(hours=utc_offset_hours)
    assert event.decoded("dtend") - start == dt.timedelta(hours=2)
    assert b"BEGIN:VTIMEZONE" in response.content


def test_the_feed_carries_initials_and_no_health_details(client, booked, robin):
    body = fetch(client, booked[0].clinician).content.decode()
    unfolded = body.replace("\r\n ", "")
    for secret in ("Robin", "Quixote", robin.email, "Infusion visit", "ketamine", "1970"):
        assert secret.lower() not in unfolded.lower()
    assert "R.Q." in unfolded


def test_a_consultation_keeps_its_type_name(client, clinician):
    AppointmentFactory(clinician=clinician, start=at(BEFORE_CHANGE, 15), patient__last_name="Ng")
    (event,) = events(fetch(client, clinician))
    assert str(event["summary"]).startswith("Consultation · ")
    assert str(event["summary"]).endswith("N.")


def test_the_feed_leaves_out_cancelled_other_clinicians_and_far_appointments(client, clinician):
    kept = AppointmentFactory(clinician=clinician, start=at(BEFORE_CHANGE, 9))
    AppointmentFactory(
        clinician=clinician, start=at(BEFORE_CHANGE, 11), status=AppointmentStatus.CANCELLED
    )
    AppointmentFactory(clinician=ClinicianFactory(), start=at(BEFORE_CHANGE, 13))
    AppointmentFactory(clinician=clinician, start=at(dt.date(2027, 1, 15), 9))  # > 30 days ago
    AppointmentFactory(clinician=clinician, start=at(dt.date(2027, 6, 15), 9))  # > 90 days ahead
    past = AppointmentFactory(
        clinician=clinician, start=at(dt.date(2027, 2, 10), 9), status=AppointmentStatus.COMPLETED
    )
    uids = [str(event["uid"]) for event in events(fetch(client, clinician))]
    assert uids == [f"appointment-{past.pk}@127.0.0.1", f"appointment-{kept.pk}@127.0.0.1"]


def test_an_empty_feed_is_still_a_calendar(client, clinician):
    response = fetch(client, clinician)
    assert response.status_code == 200
    assert events(response) == []


def test_the_feed_is_never_cached_and_sends_no_referrer(client, clinician):
    response = fetch(client, clinician)
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_revoked_address_is_not_found(client, booked):
    clinician = booked[0].clinician
    url = feed_url(clinician)
    clinician_feed_revoke(clinician_id=clinician.pk)
    response = client.get(url)
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]
    assert b"BEGIN:VCALENDAR" not in response.content


def test_a_tampered_address_is_not_found(client, booked):
    clinician = booked[0].clinician
    token = clinician_feed_token(clinician)
    payload, _, signature = token.rpartition(":")
    other = ClinicianFactory()
    forged = signing.dumps({"c": other.pk, "v": other.feed_version}, salt=SALT)
    for bad in (
        f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        forged.rpartition(":")[0] + ":" + signature,
        "x" * 200,
    ):
        url = reverse("scheduling:clinician_feed", kwargs={"token": bad})
        assert client.get(url).status_code == 404


def test_an_inactive_clinicians_feed_is_not_found(client, clinician):
    url = feed_url(clinician)
    clinician.active = False
    clinician.save()
    assert client.get(url).status_code == 404


# --- The staff page -----------------------------------------------------------------------------


def test_a_clinician_sees_their_own_feed_address(client_for, clinician):
    response = client_for(clinician.user).get(reverse("scheduling:feed_settings"))
    assert response.status_code == 200
    assert feed_url(clinician) in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_a_clinician_revokes_and_gets_a_new_working_address(client_for, client, booked):
    clinician = booked[0].clinician
    old = feed_url(clinician)
    staff = client_for(clinician.user)
    response = staff.post(reverse("scheduling:feed_revoke", args=[clinician.pk]), follow=True)
    assert response.status_code == 200
    clinician.refresh_from_db()
    new = feed_url(clinician)
    assert new != old and new in response.content.decode()
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    event = AuditEvent.objects.get(action="clinician_feed.revoked")
    assert event.actor == clinician.user and event.object_id == str(clinician.pk)


def test_front_desk_has_no_feed_of_their_own(client_for, front_desk, clinician):
    response = client_for(front_desk).get(reverse("scheduling:feed_settings"))
    assert response.status_code == 200
    assert clinician_feed_token(clinician) not in response.content.decode()


def test_an_admin_sees_every_clinician_to_revoke(client_for, admin_user, clinician):
    response = client_for(admin_user).get(reverse("scheduling:feed_settings"))
    assert reverse("scheduling:feed_revoke", args=[clinician.pk]) in response.content.decode()
    # ... but never another clinician's address.
    assert clinician_feed_token(clinician) not in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("front_desk", False), ("clinician_user", False), ("admin_user", True)],
)
def test_only_an_admin_revokes_another_clinicians_feed(
    request, client_for, persona, allowed, clinician_user
):
    other = ClinicianFactory(display_name="Dr Other")
    response = client_for(request.getfixturevalue(persona)).post(
        reverse("scheduling:feed_revoke", args=[other.pk])
    )
    other.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert other.feed_version == 2
    else:
        assert response.status_code == 403
        assert other.feed_version == 1


def test_revoking_needs_a_post(client_for, clinician):
    response = client_for(clinician.user).get(
        reverse("scheduling:feed_revoke", args=[clinician.pk])
    )
    assert response.status_code == 405
    clinician.refresh_from_db()
    assert clinician.feed_version == 1


def test_revoking_an_unknown_clinician_is_not_found(client_for, admin_user):
    response = client_for(admin_user).post(reverse("scheduling:feed_revoke", args=[999999]))
    assert response.status_code == 404


# --- The staff per-appointment calendar file ----------------------------------------------------


def test_staff_download_an_appointments_calendar_file(client_for, front_desk, booked):
    appointment = booked[1]
    response = client_for(front_desk).get(
        reverse("scheduling:appointment_ics", args=[appointment.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart").replace(tzinfo=None) == dt.datetime.combine(
        AFTER_CHANGE, dt.time(10)
    )
    assert str(event["uid"]) == f"appointment-{appointment.pk}@127.0.0.1"
    assert "Robin" not in response.content.decode()


def test_an_unknown_appointments_calendar_file_is_not_found(client_for, front_desk):
    response = client_for(front_desk).get(reverse("scheduling:appointment_ics", args=[999999]))
    assert response.status_code == 404


# --- Who may open what --------------------------------------------------------------------------


def staff_urls(clinician, appointment) -> list[str]:
    return [
        reverse("scheduling:feed_settings"),
        reverse("scheduling:appointment_ics", args=[appointment.pk]),
    ]


@pytest.mark.parametrize(("persona", "expected"), STAFF_PAGE_ACCESS)
def test_staff_feed_pages_by_persona(client_as, booked, persona, expected):
    clinician = booked[0].clinician
    browser = client_as(persona)
    for url in staff_urls(clinician, booked[0]):
        response = browser.get(url)
        assert response.status_code == expected, url
        if persona is None:
            assert response["Location"].startswith(reverse("propel:login"))


@pytest.mark.parametrize(("persona", "expected"), [(None, 302), ("no_role_user", 403)])
def test_strangers_cannot_revoke(client_as, clinician, persona, expected):
    browser = client_as(persona)
    response = browser.post(reverse("scheduling:feed_revoke", args=[clinician.pk]))
    assert response.status_code == expected
    clinician.refresh_from_db()
    assert clinician.feed_version == 1
