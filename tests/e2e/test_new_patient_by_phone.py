"""Issue 20 item 1, in a browser: the front desk adds a new caller from the new-appointment page,
is shown the likely duplicate first and creates the patient anyway, then books the consultation;
the questionnaire link waits in the outbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from intake.models import ConsentEvent, Patient
from scheduling.models import Appointment, AppointmentStatus, Reminder, ReminderKind
from scheduling.slots import clinic_tz
from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import TEST_PASSWORD, PatientFactory, UserFactory, consult_clinic

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def next_weekday(after_days: int = 3) -> dt.date:
    day = timezone.now().astimezone(clinic_tz()).date() + dt.timedelta(days=after_days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def test_a_new_caller_is_added_and_booked_by_the_front_desk(live_server, desktop_page: Page):
    consult_clinic()
    twin = PatientFactory(
        first_name="Rowan", last_name="Newcaller", date_of_birth=dt.date(1979, 5, 6)
    )
    desk = UserFactory(username="frontdesk", front_desk=True)
    code = give_backup_code(desk)

    page = desktop_page
    sign_in(page, "frontdesk", TEST_PASSWORD, code)
    page.goto("/staff/appointments/new/")
    page.get_by_role("link", name="New patient").click()
    page.wait_for_url("**/staff/patients/new/")
    page.get_by_label("First name").fill("Rowan")
    page.get_by_label("Last name").fill("Newcaller")
    page.get_by_label("Date of birth").fill("05/06/1979")
    page.locator('[name="mobile"]').fill("(916) 555-0142")
    page.locator('[name="email"]').fill("rowan.newcaller@example.test")
    page.get_by_label("Preferred language").select_option("es")
    page.get_by_label("How they heard of the clinic").select_option("clinician")
    page.get_by_label("Referring clinician (if any)").fill("Dr. Pat Fakename")
    page.get_by_label("The caller agrees to text messages (asked on this call)").check()
    page.get_by_role("checkbox", name="Text message", exact=True).check()
    page.get_by_role("button", name="Check for duplicates and save").click()

    duplicates = page.locator("#duplicates")
    expect(duplicates).to_contain_text("may already be a patient")
    expect(duplicates.get_by_role("link", name=re.compile("Use this patient"))).to_have_count(1)
    assert Patient.objects.count() == 1
    page.get_by_role("button", name="None of these: create a new patient").click()

    page.wait_for_url(re.compile(r"/staff/appointments/new/\?patient=\d+$"))
    patient = Patient.objects.exclude(pk=twin.pk).get()
    expect(page.get_by_role("heading", name=re.compile("Book for Rowan Newcaller"))).to_be_visible()
    page.locator('select[name="appointment_type"]').select_option(label="Consultation")
    page.locator('[name="date"]').fill(next_weekday().isoformat())
    page.get_by_role("button", name="Show free times").click()
    page.locator('input[name="time"]').first.check()
    page.get_by_role("button", name="Book", exact=True).click()

    page.wait_for_url(re.compile(r"/staff/appointments/\d+/$"))
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.appointment_type.code == "consultation"
    assert patient.preferred_language == "es" and patient.consent_sms
    assert ConsentEvent.objects.filter(patient=patient, channel="sms", source="staff").exists()
    sent = Reminder.objects.filter(patient=patient, kind=ReminderKind.QUESTIONNAIRE_LINK)
    assert sorted(sent.values_list("channel", flat=True)) == ["email", "sms"]
