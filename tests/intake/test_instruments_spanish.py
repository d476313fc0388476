"""Issue 22, item 3: validated instruments in Spanish only in their published Spanish version
(intake/data/instruments_es.json, with its source), else in English with a Spanish note; the
clinic's own instrument through gettext; answers stored as values and scored the same in either
language; the staff side always in English."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import escape

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from intake import scoring
from intake.answers import all_entries, section_entries
from intake.clinic_instrument_strings import CLINIC_INSTRUMENT_STRINGS
from intake.examples import COMPLETE_ANSWERS
from intake.instruments import (
    SPANISH_FILE,
    english_only_instruments,
    instrument,
    instruments,
    shown,
    source_es,
    validated_instruments,
)
from intake.models import IntakeSubmission, SubmissionStatus
from scheduling.check_ins import check_in_open
from tests.clinic_time import at
from tests.factories import (
    AppointmentFactory,
    IntakeSubmissionFactory,
    check_in_step_url,
    section_post_data,
)
from tests.patient_links import open_link, open_session

pytestmark = pytest.mark.django_db

ABOUT = reverse("intake:about_questions")
PUBLISHED = json.loads(SPANISH_FILE.read_text(encoding="utf-8"))["instruments"]
NOTE_CLASS = "instrument-english-only"


@pytest.fixture(autouse=True)
def english_afterwards():
    """A request in Spanish leaves Spanish active in this thread: later tests expect English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def in_spanish(client) -> None:
    """The patient chose Spanish (the language switch's cookie; Accept-Language agrees)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"


@pytest.fixture
def token(client, patient):
    return open_session(client, patient)


def step(token: str, key: str) -> str:
    return reverse("intake:section", kwargs={"token": token, "section_key": key})


def shows(page: str, text: str) -> bool:
    return escape(text) in page or text in page


# --- The data ------------------------------------------------------------------------------------


def without_switch(page: str) -> str:
    """The page without the language switch, whose "English" is marked lang="en" on any page."""
    return re.sub(r'<form class="language-switch.*?</form>', "", page, flags=re.S)


def test_only_the_verified_instruments_have_spanish_and_each_names_its_source():
    assert set(PUBLISHED) == {"phq9", "gad7"}
    for instrument_id, entry in PUBLISHED.items():
        assert entry["source_es"] and entry["transcribed_from"] and entry["verified"]
        english = instrument(instrument_id)
        item_ids = {item.id for item in english.items}
        # Keyed like the English: every Spanish item is an item, every label an answer value.
        assert set(entry["items"]) <= item_ids
        values = {option.value for option in english.options}
        assert {int(v) for v in entry["response_options"]} == values
    # The GAD-7 difficulty question has no published Spanish text on file: it stays English.
    assert "gad7_difficulty" not in PUBLISHED["gad7"]["items"]
    assert {i.id for i in english_only_instruments()} == {"pcl5", "peg3", "nrs11_pain", "taps1"}


def test_the_clinic_strings_list_is_the_clinic_instrument_wording():
    """makemessages finds the clinic's own questions only through this list."""
    wording = set()
    for entry in instruments().values():
        if entry.validated:
            continue
        wording |= {entry.stem} | {o.label for o in entry.options}
        for item in entry.items:
            wording |= {item.text} | {o.label for o in item.options}
    assert wording - {""} == set(CLINIC_INSTRUMENT_STRINGS)


# --- Rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["phq9", "gad7"])
def test_a_verified_instrument_renders_in_spanish_word_for_word_from_the_data(client, token, key):
    in_spanish(client)
    page = client.get(step(token, key)).text
    published = PUBLISHED[key]

    assert shows(page, published["stem"])
    for item_id, text in published["items"].items():
        assert shows(page, text), item_id
    for label in published["response_options"].values():
        assert shows(page, label)
    for item_options in published["item_options"].values():
        for label in item_options.values():
            assert shows(page, label)
    # No English item wording left where a published Spanish one exists.
    for item in instrument(key).items:
        if item.id in published["items"]:
            assert not shows(page, item.text), item.id
    assert not shows(page, "Not at all")
    assert NOTE_CLASS not in page


def test_the_same_pages_in_english_are_unchanged(client, token):
    page = client.get(step(token, "phq9")).text
    for item in instrument("phq9").items:
        assert shows(page, item.text)
    assert not shows(page, PUBLISHED["phq9"]["items"]["phq9_1"])
    assert NOTE_CLASS not in page
    assert without_switch(page).count('lang="en"') == 1  # <html lang="en"> only


def test_the_review_page_reads_the_answers_back_in_the_published_spanish(client, patient, token):
    IntakeSubmissionFactory(patient=patient, complete=True)
    in_spanish(client)
    page = client.get(reverse("intake:review", kwargs={"token": token})).text

    for text in PUBLISHED["phq9"]["items"].values():
        if text != PUBLISHED["phq9"]["items"]["phq9_difficulty"]:  # shown only after a yes
            assert shows(page, text)
    assert shows(page, PUBLISHED["gad7"]["items"]["gad7_1"])
    assert shows(page, PUBLISHED["phq9"]["response_options"]["0"])
    assert not shows(page, instrument("phq9").item("phq9_1").text)


def test_the_check_in_pages_show_the_published_spanish_too(client, patient):
    visit = at(dt.date(2027, 3, 11), 10)
    appointment = AppointmentFactory(patient=patient, infusion=True, start=visit)
    submission = check_in_open(appointment_id=appointment.pk, now=visit - dt.timedelta(hours=2))
    in_spanish(client)
    with time_machine.travel(visit - dt.timedelta(hours=1), tick=False):
        phq9 = open_link(client, check_in_step_url(patient, submission, "phq9"))
        pain = client.get(phq9.wsgi_request.path.replace("/phq9/", "/pain/"))

    assert phq9.status_code == 200
    for text in PUBLISHED["phq9"]["items"].values():
        assert shows(phq9.text, text)
    assert NOTE_CLASS not in phq9.text
    assert shows(pain.text, instrument("nrs11_pain").stem)
    assert pain.text.count(f'class="alert alert-info {NOTE_CLASS}"') == 1


def test_an_item_without_published_spanish_stays_english_marked_and_explained(client, token):
    in_spanish(client)
    page = client.get(step(token, "gad7")).text

    difficulty = instrument("gad7").item("gad7_difficulty")
    assert shows(page, difficulty.text)
    assert shows(page, "Not difficult at all")
    # That item's block only (the page is lang="es"; the switch names "English" in English).
    assert without_switch(page).count('lang="en"') == 1
    assert "published validated version" in page or "versión validada publicada" in page


def test_an_unverified_instrument_renders_in_english_with_the_spanish_note(client, token):
    in_spanish(client)
    page = client.get(step(token, "pain")).text

    for key in ("nrs11_pain", "peg3"):
        english = instrument(key)
        assert shows(page, english.stem)
        for item in english.items:
            assert shows(page, item.text)
    # The note, once above each English instrument, which is marked as English for screen readers.
    assert page.count(f'class="alert alert-info {NOTE_CLASS}"') == 2
    assert page.count('<div lang="en">') == 2
    assert shows(page, "(916) 915-9215")


def test_the_note_is_only_for_spanish_pages():
    with translation.override("en"):
        assert not any(shown(i).english_only for i in validated_instruments())
    with translation.override("es"):
        assert {i.id for i in validated_instruments() if shown(i).english_only} == {
            "pcl5",
            "peg3",
            "nrs11_pain",
            "taps1",
        }


def test_the_clinic_instrument_goes_through_gettext():
    """Not a validated instrument: translated like any string (the integrator's .po carries it)."""
    kh = instrument("ketamine_use_history")
    with translation.override("es"):
        spanish = shown(kh)
    assert not spanish.english_only
    assert spanish.language == "es"
    # gettext with no catalogue entry gives the msgid back; with one, the translation.
    with translation.override("es"):
        assert spanish.items[0].text == translation.gettext(kh.items[0].text)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_about_page_names_the_spanish_sources_in_both_languages(client, language):
    if language == "es":
        in_spanish(client)
    page = client.get(ABOUT).text

    for key in ("phq9", "gad7"):
        assert shows(page, source_es(key))
    assert page.count("instrument-source-es") == 2
    if language == "es":
        assert shows(page, PUBLISHED["phq9"]["title"])
        assert shows(page, PUBLISHED["phq9"]["attribution"])
        assert page.count(NOTE_CLASS) == len(english_only_instruments())
    else:
        assert NOTE_CLASS not in page


# --- Values, scores and the staff side -----------------------------------------------------------


def test_answers_are_stored_as_values_and_scored_the_same_in_either_language(client, patient):
    answers = {k: v for k, v in COMPLETE_ANSWERS.items() if k.startswith(("phq9_", "gad7_"))}
    stored = {}
    for language in ("en", "es"):
        client.cookies.clear()
        token = open_session(client, patient)
        if language == "es":
            in_spanish(client)
        for key in ("phq9", "gad7"):
            data = section_post_data(key, answers)
            response = client.post(step(token, key), data)
            assert response.status_code == 302, language
        submission = IntakeSubmission.objects.get(patient=patient, status=SubmissionStatus.DRAFT)
        stored[language] = {k: submission.answers[k] for k in answers}
    assert stored["en"] == stored["es"] == answers
    assert all(isinstance(v, int) for v in stored["es"].values())

    with translation.override("en"):
        english = scoring.score_all(COMPLETE_ANSWERS)
    with translation.override("es"):
        spanish = scoring.score_all(COMPLETE_ANSWERS)
    assert english == spanish


def test_the_answer_rows_read_back_in_the_active_language_and_staff_read_english():
    entry = all_entries()["phq9_1"]
    with translation.override("es"):
        assert entry.text == PUBLISHED["phq9"]["items"]["phq9_1"]
        assert entry.option_label(2) == PUBLISHED["phq9"]["response_options"]["2"]
    with translation.override("en"):  # staff pages are English
        assert entry.text == instrument("phq9").item("phq9_1").text
        assert entry.option_label(2) == "More than half the days"
    # The stored answer keys are the same in both languages.
    assert [e.key for e in section_entries("phq9")] == [i.id for i in instrument("phq9").items]
