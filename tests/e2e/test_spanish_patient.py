"""A patient with a Spanish browser (Accept-Language es-US, locale es-US), in a real browser on a
phone: books a consultation on /book/, confirms it from the email's link, opens their page,
answers the first questionnaire step, then cancels the visit. Every page says lang="es", offers
the switch back to English ("English", named in English), and axe finds nothing on it.

The Spanish text itself comes from locale/es (the translators' work, merged by the integrator):
SPANISH below names a few strings this journey must show, as the chunks translated them. Until
the catalogue holds them, test_the_catalogue_has_the_journeys_spanish fails (on purpose) and
the journey's text checks look for whatever the catalogue says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from intake.examples import complete_answers
from intake.link_sessions import ME
from intake.questions import SECTION_KEYS
from propel.i18n import compile_catalogues
from scheduling.models import Appointment, AppointmentStatus
from tests.e2e.conftest import PHONE, TIMEOUT_MS
from tests.e2e.test_accessibility import violations
from tests.e2e.test_patient_books_and_screens import DETAILS, fill_step
from tests.factories import consult_clinic, section_post_data
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# English msgid -> the Spanish the journey shows (chunks 1-5 of the translation, issue 22).
SPANISH = {
    "Book a consultation": "Hacer una cita de consulta",
    "Your details": "Sus datos",
    "Check your email to confirm": "Revise su correo electrónico para confirmar",
    "Confirm my booking": "Confirmar mi cita",
    "Start your health questionnaire": "Empezar su cuestionario de salud",
    "Save and continue": "Guardar y continuar",
    "Yes, cancel it": "Sí, cancelarla",
}


def es(text: str) -> str:
    with translation.override("es"):
        return translation.gettext(text)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    compile_catalogues()
    translation.trans_real._translations = {}  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def clinic(settings):
    settings.CLINICIAN_ALERT_EMAILS = ["on-call@clinic.example"]
    consult_clinic()


@pytest.fixture
def spanish_page(browser, live_server) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE,
        base_url=live_server.url,
        locale="es-US",
        extra_http_headers={"Accept-Language": "es-US,es;q=0.9"},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def in_spanish(page: Page) -> None:
    """This page: lang="es", the switch offering English, and nothing for axe."""
    assert page.locator("html").get_attribute("lang") == "es", page.url
    switch = page.locator('form.language-switch button[name="language"][value="en"]')
    expect(switch).to_have_text("English")
    expect(page.locator('form.language-switch [aria-current="true"]')).to_have_text("Español")
    problems = violations(page)
    assert not problems, f"{page.url}: {problems}"


def test_the_catalogue_has_the_journeys_spanish():
    """Fails until the translations are merged into locale/es (issue 22): then it must pass."""
    assert {english: es(english) for english in SPANISH} == SPANISH


def test_a_spanish_speaking_patient_books_answers_and_cancels(live_server, spanish_page: Page):
    page = spanish_page
    page.goto("/book/")
    in_spanish(page)
    expect(page.get_by_role("heading", name=es("Book a consultation"), level=1)).to_be_visible()

    page.locator('main button[name="start"]').first.click()
    expect(page.get_by_role("heading", name=es("Your details"))).to_be_visible()
    in_spanish(page)
    for name, value in DETAILS.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.locator('[name="consent_email"]').check()
    page.locator('main button[type="submit"]').last.click()
    expect(page.get_by_role("heading", name=es("Check your email to confirm"))).to_be_visible()
    in_spanish(page)

    deliver_due_reminders()
    (message,) = [m for m in mail.outbox if "/book/confirm/" in m.body]
    page.goto(re.search(r"https?://[^/\s]+(/book/confirm/[^/\s]+/)", message.body)[1])
    in_spanish(page)
    page.get_by_role("button", name=es("Confirm my booking")).click()
    start = page.get_by_role("link", name=es("Start your health questionnaire"))
    expect(start).to_be_visible()
    in_spanish(page)
    appointment = Appointment.objects.get()
    # The patient's page opens in the language they booked in: the booking stores it as their
    # preferred_language (helper I2's part of issue 22, scheduling.online.booking), and a link
    # opened without a language cookie uses it (intake.link_pages). Before that part is merged
    # the patient's page below says lang="en".
    assert appointment.patient.preferred_language == "es"
    start.click()
    page.wait_for_url(re.compile(r"/intake/"))
    in_spanish(page)
    fill_step(page, section_post_data(SECTION_KEYS[0], complete_answers()))
    page.get_by_role("button", name=es("Save and continue")).click()
    page.wait_for_url(re.compile(rf"/intake/{SECTION_KEYS[1]}/$"))
    in_spanish(page)

    page.goto(reverse("scheduling:patient_home", args=[ME]))
    in_spanish(page)
    page.locator(f'main a[href$="/appointments/{appointment.pk}/cancel/"]').click()
    in_spanish(page)
    page.get_by_role("button", name=es("Yes, cancel it")).click()
    page.wait_for_url(re.compile(rf"/p/{ME}/$"))
    in_spanish(page)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_switching_to_english_and_back_keeps_the_page(live_server, spanish_page: Page):
    page = spanish_page
    page.goto("/book/")
    page.locator('form.language-switch button[value="en"]').click()
    page.wait_for_url(re.compile(r"/book/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    # Remembered in the cookie, whatever the browser asks for.
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator('form.language-switch button[value="es"]').click()
    page.wait_for_url(re.compile(r"/$"))
    in_spanish(page)
