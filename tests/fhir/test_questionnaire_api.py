"""Questionnaire and QuestionnaireResponse (issue 23): the builders, the codes and the read API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake import instruments as instruments_
from intake.models import IntakeSubmission
from intake.scoring import score_all
from scheduling.fhir import codes
from scheduling.fhir.access import scope_for
from scheduling.fhir.ids import fhir_id
from scheduling.fhir.kinds_questionnaire import QUESTIONNAIRE, QUESTIONNAIRE_RESPONSE
from scheduling.fhir.questionnaires import (
    RESPONSE_KEYS,
    all_questionnaires,
    build_questionnaire_responses,
    canonical,
    questionnaire,
    questionnaire_id,
)
from tests.factories import (
    CheckInSubmissionFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    SubmittedScreeningFactory,
)
from tests.fhir.support import api_client, fhir_get, outcome, validated

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"
LOINC_ANSWER = re.compile(r"^LA\d{1,6}-\d$")
LOINC_TERM = re.compile(r"^\d{1,7}-\d$")
SCREENING_INSTRUMENTS = ["phq9", "gad7", "peg3", "nrs11_pain", "taps1", "ketamine_use_history"]


def _sent(**changes: object) -> IntakeSubmission:
    """A sent screening with the scores the submit service would have stored."""
    submission = SubmittedScreeningFactory(**changes)
    submission.scores = score_all(submission.answers)
    submission.save()
    return submission


def _with_answers(**answers: object) -> IntakeSubmission:
    submission = SubmittedScreeningFactory()
    submission.answers = {**submission.answers, **answers}
    submission.scores = score_all(submission.answers)
    submission.save()
    return submission


def _response(instrument_id: str, submission: IntakeSubmission) -> dict:
    found = QUESTIONNAIRE_RESPONSE.read(fhir_id(RESPONSE_KEYS[instrument_id], submission.pk))
    assert found is not None
    return validated(found.resources[0])


def _items(resource: dict) -> dict[str, dict]:
    return {item["linkId"]: item for item in resource.get("item", [])}


def _ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


# --- The codes --------------------------------------------------------------------------------


def _loinc_check_digit(number: str) -> str:
    from tests.scheduling.fhir.test_codes import _loinc_check_digit as check

    return check(number)


def test_questionnaire_codes_are_sourced_and_well_formed():
    tables = [
        *codes.QUESTIONNAIRE_CODES.values(),
        *codes.QUESTIONNAIRE_ITEM_CODES.values(),
        *codes.QUESTIONNAIRE_TOTAL_CODES.values(),
    ]
    for code in tables:
        assert code.system == codes.LOINC and code.source.startswith("https://"), code
        assert LOINC_TERM.match(code.code), code
        number, check = code.code.split("-")
        assert _loinc_check_digit(number) == check, code
    for answers in codes.QUESTIONNAIRE_ANSWER_CODES.values():
        for code in answers.values():
            assert LOINC_ANSWER.match(code.code) and code.source.startswith("https://"), code


def test_loinc_answers_say_what_the_patient_was_shown():
    """A LOINC answer is used only where its display is the option's own label."""
    every_item = {i.id: i for e in instruments_.instruments().values() for i in e.items}
    for item_id, answers in codes.QUESTIONNAIRE_ANSWER_CODES.items():
        labels = {o.value: o.label for o in every_item[item_id].options}
        assert {value: code.display for value, code in answers.items()} == labels


def test_phq9_answer_list_is_loincs_ll358_3():
    assert {v: c.code for v, c in codes.FREQUENCY_ANSWERS.items()} == {
        0: "LA6568-5",
        1: "LA6569-3",
        2: "LA6570-1",
        3: "LA6571-9",
    }
    assert codes.QUESTIONNAIRE_ITEM_CODES["phq9_9"].code == "44260-8"


# --- Questionnaire ----------------------------------------------------------------------------


def test_every_instrument_has_a_valid_questionnaire_with_its_exact_wording():
    built = {q["id"]: validated(q) for q in all_questionnaires()}
    assert set(built) == {questionnaire_id(i) for i in instruments_.instruments()}
    for instrument_id, entry in instruments_.instruments().items():
        resource = built[questionnaire_id(instrument_id)]
        assert resource["url"] == canonical(instrument_id)
        assert resource["status"] == "active"
        assert resource["title"] == entry.title
        assert entry.attribution in resource["copyright"]
        items = _items(resource)
        for item in entry.items:
            assert items[item.id]["text"] == item.text
        assert len(items) == len(resource["item"])  # linkIds are unique


def test_questionnaire_ids_are_stable_and_readable():
    assert [q["id"] for q in all_questionnaires()][:2] == ["phq9", "gad7"]
    assert questionnaire("phq9")["version"] == questionnaire("phq9")["version"]
    assert questionnaire("nrs11_pain")["id"] == "nrs11-pain"


def test_phq9_questionnaire_is_coded_with_loinc():
    phq9 = questionnaire("phq9")
    assert phq9["code"][0]["code"] == "44249-1"
    item9 = _items(phq9)["phq9_9"]
    assert item9["code"][0] == {
        "system": "http://loinc.org",
        "code": "44260-8",
        "display": "Thoughts that you would be better off dead, or of hurting yourself in some way",
    }
    assert [o["valueCoding"]["code"] for o in item9["answerOption"]] == [
        "LA6568-5",
        "LA6569-3",
        "LA6570-1",
        "LA6571-9",
    ]
    assert _items(phq9)["phq9_total"]["code"][0]["code"] == "44261-6"


def test_unconfirmed_codes_fall_back_to_propels_system():
    pcl5 = _items(questionnaire("pcl5"))["pcl5_1"]
    system = f"{codes.PROPEL_SYSTEM_BASE}/pcl5"
    assert pcl5["code"][0] == {"system": system, "code": "pcl5_1", "display": pcl5["text"]}
    assert pcl5["answerOption"][4]["valueCoding"] == {
        "system": system,
        "code": "4",
        "display": "Extremely",
    }


# --- QuestionnaireResponse --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "display"),
    [
        (0, "LA6568-5", "Not at all"),
        (1, "LA6569-3", "Several days"),
        (2, "LA6570-1", "More than half the days"),
        (3, "LA6571-9", "Nearly every day"),
    ],
)
def test_each_phq9_answer_is_its_loinc_answer(value, code, display):
    submission = _with_answers(**{f"phq9_{n}": value for n in range(1, 10)})
    items = _items(_response("phq9", submission))
    for n in range(1, 10):
        coding = items[f"phq9_{n}"]["answer"][0]["valueCoding"]
        assert coding == {"system": "http://loinc.org", "code": code, "display": display}


def test_the_self_harm_item_is_exported_exactly():
    submission = _with_answers(phq9_9=2, phq9_difficulty=1)
    item9 = _items(_response("phq9", submission))["phq9_9"]
    assert item9["text"] == instruments_.instrument("phq9").item("phq9_9").text
    assert item9["answer"] == [
        {
            "valueCoding": {
                "system": "http://loinc.org",
                "code": "LA6570-1",
                "display": "More than half the days",
            }
        }
    ]


def test_a_response_carries_patient_authored_total_and_its_questionnaire():
    submission = _with_answers(phq9_1=3, phq9_2=2, phq9_difficulty=2)
    resource = _response("phq9", submission)
    patient = {"reference": f"Patient/{fhir_id('Patient', submission.patient_id)}"}
    assert resource["questionnaire"] == "https://propel.clinic/fhir/Questionnaire/phq9"
    assert resource["status"] == "completed"
    assert resource["subject"] == resource["author"] == resource["source"] == patient
    assert resource["authored"].startswith("2027-01-04T18:00:00")
    items = _items(resource)
    assert items["phq9_total"]["answer"] == [{"valueInteger": 5}]
    assert items["phq9_difficulty"]["answer"][0]["valueCoding"]["code"] == "LA6575-0"


def test_every_answer_type_and_every_link_id_is_in_its_questionnaire():
    submission = _with_answers(kh_nonmedical_ever=1, kh_last_use=2, taps1_drugs=3)
    for instrument_id in SCREENING_INSTRUMENTS:
        resource = _response(instrument_id, submission)
        defined = _items(questionnaire(instrument_id))
        for item in resource["item"]:
            assert item["linkId"] in defined, (instrument_id, item["linkId"])
            assert defined[item["linkId"]]["type"] != "display"
    peg = _items(_response("peg3", submission))
    assert peg["peg_p"]["answer"] == [{"valueInteger": 3}]
    assert peg["peg3_total"]["answer"] == [{"valueDecimal": 2.3}]
    kh = _items(_response("ketamine_use_history", submission))
    assert kh["kh_nonmedical_ever"]["answer"] == [{"valueBoolean": True}]
    assert kh["kh_treatment"]["answer"] == [{"valueBoolean": False}]
    assert kh["kh_last_use"]["answer"][0]["valueCoding"]["display"] == "1 to 12 months ago"
    taps = _items(_response("taps1", submission))
    assert taps["taps1_drugs"]["answer"][0]["valueCoding"] == {
        "system": f"{codes.PROPEL_SYSTEM_BASE}/taps1",
        "code": "3",
        "display": "Weekly",
    }
    assert "taps1_alcohol_men" not in taps  # not asked: the patient is not male
    assert _items(_response("nrs11_pain", submission))["nrs_now"]["answer"] == [{"valueInteger": 3}]


def test_only_the_instruments_asked_have_responses():
    screening = _sent()
    check_in = CheckInSubmissionFactory(
        complete=True, status="submitted", submitted_at=dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
    )
    for instrument_id in instruments_.instruments():
        key = RESPONSE_KEYS[instrument_id]
        asked = instrument_id in SCREENING_INSTRUMENTS
        assert (QUESTIONNAIRE_RESPONSE.read(fhir_id(key, screening.pk)) is not None) is asked
        asked = instrument_id in {"phq9", "gad7", "nrs11_pain"}
        assert (QUESTIONNAIRE_RESPONSE.read(fhir_id(key, check_in.pk)) is not None) is asked


def test_pcl5_only_after_a_stressful_experience_and_never_from_stale_answers():
    pcl5 = {f"pcl5_{n}": 1 for n in range(1, 21)}
    shown = _with_answers(stressful_experience="yes", **pcl5)
    stale = _with_answers(stressful_experience="no", **pcl5)
    items = _items(_response("pcl5", shown))
    assert items["pcl5_total"]["answer"] == [{"valueInteger": 20}]
    assert QUESTIONNAIRE_RESPONSE.read(fhir_id(RESPONSE_KEYS["pcl5"], stale.pk)) is None


def test_a_draft_is_not_served_until_it_is_sent(client):
    """Drafts change as the patient types: the EHR gets what was sent (docs/fhir.md)."""
    new = api_client()
    draft = IntakeSubmissionFactory(complete=True)
    pid = fhir_id("Patient", draft.patient_id)
    bundle = fhir_get(client, f"{BASE}QuestionnaireResponse?patient={pid}", new).json()
    assert _ids(bundle) == []
    assert QUESTIONNAIRE_RESPONSE.read(fhir_id(RESPONSE_KEYS["phq9"], draft.pk)) is None
    IntakeSubmission.objects.filter(pk=draft.pk).update(
        status="submitted", submitted_at=dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    )
    bundle = fhir_get(client, f"{BASE}QuestionnaireResponse?patient={pid}", new).json()
    assert len(_ids(bundle)) == len(SCREENING_INSTRUMENTS)


def test_responses_are_built_in_the_clinics_english_whatever_the_language():
    from django.utils import translation

    submission = _sent()
    with translation.override("es"):
        built = build_questionnaire_responses("phq9", [submission])
    assert built[0]["item"][0]["text"] == "Little interest or pleasure in doing things"


# --- The API ----------------------------------------------------------------------------------


def test_read_a_questionnaire_and_a_response(client):
    new = api_client()
    submission = _sent()
    response = fhir_get(client, f"{BASE}Questionnaire/phq9", new)
    assert validated(response.json())["url"] == canonical("phq9")
    rid = fhir_id(RESPONSE_KEYS["gad7"], submission.pk)
    body = validated(fhir_get(client, f"{BASE}QuestionnaireResponse/{rid}", new).json())
    assert body["id"] == rid and body["questionnaire"] == canonical("gad7")
    outcome(fhir_get(client, f"{BASE}Questionnaire/phq-99", new), 404, "not-found")


def test_an_id_of_another_type_is_not_found(client):
    new = api_client()
    submission = _sent()
    rid = fhir_id(RESPONSE_KEYS["phq9"], submission.pk)
    pid = fhir_id("Patient", submission.patient_id)
    outcome(fhir_get(client, f"{BASE}QuestionnaireResponse/{pid}", new), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}Patient/{rid}", new), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}Questionnaire/{rid}", new), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}QuestionnaireResponse/phq9", new), 404, "not-found")


def test_questionnaire_search_by_url_and_name(client):
    new = api_client()
    url = canonical("gad7")
    bundle = validated(fhir_get(client, f"{BASE}Questionnaire?url={url}", new).json())
    assert _ids(bundle) == ["gad7"]
    version = questionnaire("gad7")["version"]
    assert _ids(fhir_get(client, f"{BASE}Questionnaire?url={url}|{version}", new).json()) == [
        "gad7"
    ]
    assert _ids(fhir_get(client, f"{BASE}Questionnaire?url={url}|old", new).json()) == []
    assert _ids(fhir_get(client, f"{BASE}Questionnaire?name=patient", new).json()) == ["phq9"]
    assert _ids(fhir_get(client, f"{BASE}Questionnaire?name=PCL", new).json()) == ["pcl5"]
    every = fhir_get(client, f"{BASE}Questionnaire?_count=3", new).json()
    assert len(_ids(every)) == 3
    assert any(link["relation"] == "next" for link in every["link"])
    outcome(fhir_get(client, f"{BASE}Questionnaire?patient=x", new), 400, "invalid")


def test_response_search_by_patient_questionnaire_authored_and_status(client):
    new = api_client()
    patient = PatientFactory()
    first = _sent(patient=patient)
    second = _sent(patient=patient, round=2, submitted_at=dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    _sent()  # another patient's
    pid = fhir_id("Patient", patient.pk)
    phq9 = [fhir_id(RESPONSE_KEYS["phq9"], s.pk) for s in (first, second)]
    for named in ("phq9", "Questionnaire/phq9", canonical("phq9")):
        url = f"{BASE}QuestionnaireResponse?patient={pid}&questionnaire={named}"
        assert _ids(validated(fhir_get(client, url, new).json())) == phq9
    url = f"{BASE}QuestionnaireResponse?patient={pid}&questionnaire=phq9&authored=ge2027-02-01"
    assert _ids(fhir_get(client, url, new).json()) == phq9[1:]
    url = f"{BASE}QuestionnaireResponse?patient={pid}&status=completed&_count=100"
    assert len(_ids(fhir_get(client, url, new).json())) == 2 * len(SCREENING_INSTRUMENTS)
    url = f"{BASE}QuestionnaireResponse?patient={pid}&status=in-progress"
    assert _ids(fhir_get(client, url, new).json()) == []
    url = f"{BASE}QuestionnaireResponse?questionnaire=unknown"
    assert _ids(fhir_get(client, url, new).json()) == []
    outcome(fhir_get(client, f"{BASE}QuestionnaireResponse?status=done", new), 400, "invalid")
    outcome(fhir_get(client, f"{BASE}QuestionnaireResponse?authored=soon", new), 400, "invalid")


def test_response_search_by_last_updated(client):
    new = api_client()
    old, recent = _sent(), _sent()
    IntakeSubmission.objects.filter(pk=old.pk).update(
        updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    url = f"{BASE}QuestionnaireResponse?questionnaire=phq9&_lastUpdated=gt2026-06-01"
    assert _ids(fhir_get(client, url, new).json()) == [fhir_id(RESPONSE_KEYS["phq9"], recent.pk)]


def test_paging_across_instruments_finds_each_response_once(client):
    new = api_client()
    patient = PatientFactory()
    submissions = [_sent(patient=patient, round=n) for n in (1, 2)]
    url = f"{BASE}QuestionnaireResponse?patient={fhir_id('Patient', patient.pk)}&_count=5"
    seen = []
    while url:
        bundle = validated(fhir_get(client, url, new).json())
        seen += _ids(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
    expected = {fhir_id(RESPONSE_KEYS[i], s.pk) for i in SCREENING_INSTRUMENTS for s in submissions}
    assert len(seen) == len(expected) and set(seen) == expected


def _search_queries(client, rows: int) -> int:
    new = api_client()
    patient = PatientFactory()
    for n in range(rows):
        _sent(patient=patient, round=n + 1)
    url = (
        f"{BASE}QuestionnaireResponse?patient={fhir_id('Patient', patient.pk)}"
        "&questionnaire=phq9&_count=50"
    )
    with CaptureQueriesContext(connection) as queries:
        response = fhir_get(client, url, new)
    assert len(response.json()["entry"]) == rows
    return len(queries)


def test_search_query_count_does_not_grow_with_the_results(client):
    assert _search_queries(client, 1) == _search_queries(client, 20)


def test_scopes_are_per_type(client):
    submission = _sent()
    rid = fhir_id(RESPONSE_KEYS["phq9"], submission.pk)
    only_questionnaires = api_client([scope_for("Questionnaire")])
    outcome(
        fhir_get(client, f"{BASE}QuestionnaireResponse/{rid}", only_questionnaires),
        403,
        "forbidden",
    )
    outcome(fhir_get(client, f"{BASE}QuestionnaireResponse", only_questionnaires), 403, "forbidden")
    assert fhir_get(client, f"{BASE}Questionnaire/phq9", only_questionnaires).status_code == 200
    only_responses = api_client([scope_for("QuestionnaireResponse")])
    outcome(fhir_get(client, f"{BASE}Questionnaire/phq9", only_responses), 403, "forbidden")
    assert fhir_get(client, f"{BASE}QuestionnaireResponse/{rid}", only_responses).status_code == 200


def test_the_read_is_audited_under_the_patient(client):
    from propel.models import AuditEvent

    new = api_client()
    submission = _sent()
    rid = fhir_id(RESPONSE_KEYS["phq9"], submission.pk)
    fhir_get(client, f"{BASE}QuestionnaireResponse/{rid}", new)
    assert AuditEvent.objects.get(action="fhir.read").patient_id == submission.patient_id
    fhir_get(client, f"{BASE}Questionnaire/phq9", new)
    latest = AuditEvent.objects.filter(action="fhir.read").order_by("-id").first()
    assert latest.detail["path"].endswith("/Questionnaire/phq9")
    assert latest.detail["patient_ids"] == []


def test_export_writes_responses_per_patient_and_questionnaires_system_wide_only():
    mine, other = _sent(), _sent()
    exported = [
        resource
        for found in QUESTIONNAIRE_RESPONSE.export(patient_pks=[mine.patient_id], batch=2)
        for resource in found.resources
    ]
    assert {r["id"] for r in exported} == {
        fhir_id(RESPONSE_KEYS[i], mine.pk) for i in SCREENING_INSTRUMENTS
    }
    assert fhir_id(RESPONSE_KEYS["phq9"], other.pk) not in {r["id"] for r in exported}
    assert list(QUESTIONNAIRE.export(patient_pks=[mine.patient_id])) == []
    everything = [r for found in QUESTIONNAIRE.export() for r in found.resources]
    assert len(everything) == len(instruments_.instruments())


def test_every_response_key_fits_the_id_table():
    from scheduling.models import FhirId

    limit = FhirId._meta.get_field("resource_type").max_length
    assert all(len(key) <= limit for key in RESPONSE_KEYS.values())
    assert len(set(RESPONSE_KEYS.values())) == len(RESPONSE_KEYS)


def test_a_score_observation_points_at_the_answers_it_was_computed_from(client):
    """The PHQ-9 and GAD-7 totals are derivedFrom their QuestionnaireResponse, which the same
    client can read; a total without served answers points at nothing (no dangling reference)."""
    new = api_client()
    submission = _sent()
    for instrument_id in ("phq9", "gad7"):
        observation_id = fhir_id(f"Observation.{instrument_id}", submission.pk)
        observation = validated(fhir_get(client, f"{BASE}Observation/{observation_id}", new).json())
        reference = observation["derivedFrom"][0]["reference"]
        assert reference == (
            f"QuestionnaireResponse/{fhir_id(RESPONSE_KEYS[instrument_id], submission.pk)}"
        )
        answers = validated(fhir_get(client, f"{BASE}{reference}", new).json())
        assert answers["questionnaire"] == canonical(instrument_id)
    bare = SubmittedScreeningFactory(answers={}, scores={"phq9": {"total": 7}})
    observation_id = fhir_id("Observation.phq9", bare.pk)
    observation = validated(fhir_get(client, f"{BASE}Observation/{observation_id}", new).json())
    assert "derivedFrom" not in observation
