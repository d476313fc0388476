"""The waitlist's pages: the patient asks and accepts from their own page (by link), a time that
went or expired is a 410 naming the clinic's phone; the front desk adds a caller, reorders and
removes, and sees the offers, in a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.links import patient_link_token
from scheduling.models import Appointment, EntryState, PartOfDay, WaitlistEntry
from scheduling.waitlist.services import entry_add
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory, consultation_at
from tests.patient_links import open_link, open_session
from tests.scheduling.reminder_support import deliver_due_reminders
from tests.scheduling.waitlist_support import offer_to

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)
FREED = at(dt.date(2027, 1, 5), 15)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def page(token: str) -> str:
    return reverse("scheduling:patient_waitlist", args=[token])


def offered(clinic, *patients):
    return offer_to(clinic, *patients, start=FREED, now=NOW)


def test_a_patient_asks_for_an_earlier_time_from_their_page(client, online_clinic, patient):
    booked = consultation_at(online_clinic, at(dt.date(2027, 1, 12), 10), patient=patient)
    assert open_link(client, page(patient_link_token(patient))).status_code == 200
    me = open_session(client, patient)
    response = client.post(
        page(me),
        {
            "action": "ask",
            "appointment_type": online_clinic.consultation.pk,
            "weekdays": ["2", "4"],
            "part_of_day": PartOfDay.AFTERNOON,
        },
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get(patient=patient)
    assert (entry.weekdays, entry.part_of_day, entry.appointment) == ("24", "afternoon", booked)
    assert entry.via == "online"


def test_the_offer_email_links_to_the_page_and_names_no_visit_type(client, online_clinic, patient):
    offered(online_clinic, patient)
    deliver_due_reminders(now=NOW)
    (email,) = mail.outbox
    assert "earlier appointment" in email.subject.lower()
    assert "/waitlist/" in email.body
    assert "onsultation" not in email.subject + email.body


def test_the_first_patient_accepts_and_the_second_gets_a_410_with_the_phone(client, online_clinic):
    first, second = PatientFactory(), PatientFactory()
    offer = offered(online_clinic, first, second)
    me = open_session(client, first)
    assert "Accept this time" in client.get(page(me)).content.decode()
    invite = offer.invites.get(entry__patient=first)
    accepted = client.post(page(me), {"action": "accept", "invite": invite.pk})
    assert accepted.status_code == 302
    assert Appointment.objects.get(start=FREED).patient == first
    client.logout()
    me = open_session(client, second)
    invite = offer.invites.get(entry__patient=second)
    refused = client.post(page(me), {"action": "accept", "invite": invite.pk})
    assert refused.status_code == 410
    body = refused.content.decode()
    assert "Someone else accepted it first" in body
    assert "(916) 915-9215" in body


@pytest.mark.parametrize("invite", ["", "abc", "99999999", "1" * 40])
def test_a_tampered_invitation_is_a_410_never_a_500(client, online_clinic, patient, invite):
    offered(online_clinic, patient)
    me = open_session(client, patient)
    assert client.post(page(me), {"action": "accept", "invite": invite}).status_code == 410
    assert not Appointment.objects.exists()


def test_another_patients_invitation_is_refused(client, online_clinic, patient):
    other = PatientFactory()
    offer = offered(online_clinic, other)
    me = open_session(client, patient)
    invite = offer.invites.get()
    assert client.post(page(me), {"action": "accept", "invite": invite.pk}).status_code == 410
    assert not Appointment.objects.exists()


def test_the_front_desk_adds_a_caller_reorders_and_removes(client_for, front_desk, online_clinic):
    client = client_for(front_desk)
    url = reverse("scheduling:waitlist")
    first, caller = PatientFactory(), PatientFactory(first_name="Casey", last_name="Caller")
    entry_add(patient_id=first.pk, appointment_type=online_clinic.consultation)
    response = client.post(
        url,
        {
            "action": "add",
            "patient": caller.pk,
            "appointment_type": online_clinic.consultation.pk,
            "clinician": online_clinic.clinician.pk,
            "part_of_day": PartOfDay.MORNING,
        },
    )
    assert response.status_code == 302
    added = WaitlistEntry.objects.get(patient=caller)
    assert (added.via, added.clinician) == ("staff", online_clinic.clinician)
    client.post(url, {"action": "up", "entry": added.pk})
    listed = [entry.patient for entry in client.get(url).context["entries"]]
    assert listed == [caller, first]
    client.post(url, {"action": "remove", "entry": added.pk})
    added.refresh_from_db()
    assert added.state == EntryState.REMOVED
    assert [entry.patient for entry in client.get(url).context["entries"]] == [first]


def test_a_bad_staff_form_is_a_400_not_a_500(client_for, front_desk, online_clinic):
    client = client_for(front_desk)
    url = reverse("scheduling:waitlist")
    assert client.post(url, {"action": "add", "patient": "x"}).status_code == 400
    assert client.post(url, {"action": "up", "entry": "x"}).status_code == 400


def test_the_staff_list_runs_the_same_queries_for_2_or_12_entries(
    client_for, front_desk, online_clinic
):
    client = client_for(front_desk)
    url = reverse("scheduling:waitlist")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    offered(online_clinic, PatientFactory(), PatientFactory())
    few = count()
    for _ in range(10):
        entry_add(patient_id=PatientFactory().pk, appointment_type=online_clinic.consultation)
    assert count() == few


def test_the_front_desk_changes_a_callers_wishes(client_for, front_desk, online_clinic):
    client = client_for(front_desk)
    url = reverse("scheduling:waitlist")
    entry = entry_add(patient_id=PatientFactory().pk, appointment_type=online_clinic.consultation)
    assert client.get(url, {"edit": entry.pk}).status_code == 200
    bad = {"action": "edit", "entry": entry.pk, "part_of_day": "any"}
    bad |= {"earliest_date": "2027-02-01", "latest_date": "2027-01-01"}
    assert client.post(url, bad).status_code == 400
    response = client.post(
        url,
        {
            "action": "edit",
            "entry": entry.pk,
            "weekdays": ["3", "1"],
            "part_of_day": PartOfDay.MORNING,
            "clinician": online_clinic.clinician.pk,
        },
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.weekdays, entry.part_of_day) == ("13", "morning")
    assert entry.clinician == online_clinic.clinician
    assert client.get(url, {"edit": "999999"}).status_code == 302


def test_the_edit_page_and_an_offer_on_the_patients_page_are_valid_html(
    client, client_for, front_desk, online_clinic, patient
):
    from tests.propel.html_validity import parse_errors, unknown_attributes

    offered(online_clinic, patient)
    me = open_session(client, patient)
    entry = WaitlistEntry.objects.get(patient=patient)
    staff = client_for(front_desk)
    pages = [
        client.get(page(me)),
        staff.get(reverse("scheduling:waitlist"), {"edit": entry.pk}),
        staff.get(reverse("scheduling:waitlist")),
    ]
    for response in pages:
        document = response.content.decode()
        assert not parse_errors(document)
        assert not unknown_attributes(document)
