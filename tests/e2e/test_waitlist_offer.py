"""The waitlist in a real browser: two waiting patients are offered a freed time; the first
accepts it from their page and it is booked; the second, accepting after, is told it went."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from intake.links import patient_link_token
from scheduling.models import Appointment
from scheduling.slots import clinic_tz
from scheduling.waitlist.services import entry_add, slot_freed
from tests.e2e.test_accessibility import violations
from tests.factories import PatientFactory, consult_clinic

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def next_weekday_at_three() -> dt.datetime:
    day = timezone.now().astimezone(clinic_tz()).date() + dt.timedelta(days=3)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(15), tzinfo=clinic_tz())


def test_the_first_patient_accepts_and_the_second_is_told_it_went(
    live_server, desktop_page: Page, browser
):
    clinic = consult_clinic()
    first = PatientFactory(first_name="Fran", last_name="Firstfake")
    second = PatientFactory(first_name="Sam", last_name="Secondfake")
    for patient in (first, second):
        entry_add(patient_id=patient.pk, appointment_type=clinic.consultation)
    start = next_weekday_at_three()
    offer = slot_freed(
        appointment_type_id=clinic.consultation.pk,
        start=start,
        room_id=clinic.room.pk,
        clinician_id=clinic.clinician.pk,
    )
    assert offer is not None

    # The second patient opens the page first and sees the offer too.
    other = browser.new_page(base_url=live_server.url)
    other.goto(reverse("scheduling:patient_waitlist", args=[patient_link_token(second)]))
    expect(other.get_by_role("button", name="Accept this time")).to_be_visible()

    page = desktop_page
    page.goto(reverse("scheduling:patient_waitlist", args=[patient_link_token(first)]))
    assert not violations(page)
    page.get_by_role("button", name="Accept this time").click()
    expect(page.get_by_text("It is yours")).to_be_visible()
    assert Appointment.objects.get(start=start).patient == first

    other.get_by_role("button", name="Accept this time").click()
    expect(other.get_by_role("heading", name="This time is no longer available")).to_be_visible()
    expect(other.get_by_text("Someone else accepted it first")).to_be_visible()
    assert not violations(other)
    assert Appointment.objects.filter(start=start).count() == 1
    other.close()
