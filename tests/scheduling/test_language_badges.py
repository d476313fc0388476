"""Issue 22: staff see a patient's language where an interpreter may be needed: the calendar (day,
week and the phone agenda), the day sheet, the appointment, the visit screen and the staff patient
page show "ES" with "Prefers Spanish" for screen readers; nothing for English; no extra query."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from intake.models import Language, Patient
from tests.clinic_time import TUESDAY, at
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory, open_weekdays
from tests.propel.html_validity import parse_errors, unknown_attributes
from tests.scheduling.test_calendar_pages import count_queries, fill

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

BADGE = re.compile(
    r'<span class="badge text-bg-info lang-badge" title="Prefers Spanish">'
    r'<span aria-hidden="true">ES</span><span class="visually-hidden">Prefers Spanish</span></span>'
)


@pytest.fixture
def visits():
    open_weekdays()
    room = RoomFactory(name="Consult A")
    lucia = PatientFactory(first_name="Lucía", preferred_language=Language.SPANISH)
    robin = PatientFactory(first_name="Robin", preferred_language=Language.ENGLISH)
    return {
        "es": AppointmentFactory(patient=lucia, room=room, start=at(TUESDAY, 10)),
        "en": AppointmentFactory(patient=robin, room=room, start=at(TUESDAY, 11)),
    }


def pages(visits, language):
    appointment = visits[language]
    return {
        "day": (reverse("scheduling:calendar"), {"date": TUESDAY.isoformat()}),
        "week": (reverse("scheduling:calendar_week"), {"date": TUESDAY.isoformat()}),
        "day sheet": (reverse("scheduling:day_sheet"), {}),
        "appointment": (reverse("scheduling:appointment", args=[appointment.pk]), {}),
        "visit": (reverse("scheduling:visit", args=[appointment.pk]), {}),
        "patient": (reverse("scheduling:patient", args=[appointment.patient_id]), {}),
    }


@pytest.mark.parametrize("page", ["day", "week", "day sheet", "appointment", "visit", "patient"])
def test_staff_see_that_the_patient_prefers_spanish(visits, client_for, clinician_user, page):
    client = client_for(clinician_user)
    url, params = pages(visits, "es")[page]
    html = client.get(url, params).content.decode()
    assert BADGE.search(html), page
    if page in ("day", "week", "day sheet"):  # both patients listed: one badge, Lucía's
        assert len(BADGE.findall(html)) == (2 if page in ("day", "week") else 1)


@pytest.mark.parametrize("page", ["day", "week", "day sheet", "appointment", "visit", "patient"])
def test_the_pages_with_a_badge_are_valid_html(visits, client_for, clinician_user, page):
    url, params = pages(visits, "es")[page]
    document = client_for(clinician_user).get(url, params).content.decode()
    assert parse_errors(document) == [] and unknown_attributes(document) == []


@pytest.mark.parametrize("page", ["appointment", "visit", "patient"])
def test_no_badge_for_a_patient_who_prefers_english(visits, client_for, clinician_user, page):
    url, params = pages(visits, "en")[page]
    assert not BADGE.search(client_for(clinician_user).get(url, params).content.decode())


def test_the_badge_costs_no_query(client_for, front_desk):
    open_weekdays()
    staff = client_for(front_desk)
    fill(20, TUESDAY)
    url, params = reverse("scheduling:calendar"), {"date": TUESDAY.isoformat()}
    english = count_queries(staff, url, params)
    Patient.objects.filter(pk__in=Patient.objects.order_by("pk").values("pk")[:10]).update(
        preferred_language=Language.SPANISH
    )
    assert count_queries(staff, url, params) == english
    for sheet in (reverse("scheduling:day_sheet"),):
        spanish = count_queries(staff, sheet, {})
        Patient.objects.update(preferred_language=Language.ENGLISH)
        assert count_queries(staff, sheet, {}) == spanish
