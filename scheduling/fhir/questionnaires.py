"""Questionnaire for each instrument and QuestionnaireResponse for each sent answer to one
(docs/fhir.md, "Questionnaire and QuestionnaireResponse").

The instruments are data (intake/data/instruments.json, read through intake.instruments); each
becomes one Questionnaire with a readable, stable id ("phq9", "nrs11-pain": public definitions,
nothing about a patient) and the canonical url QUESTIONNAIRE_URL_BASE/<id>. Item wording is the
data file's English, exactly. A sent submission (intake.IntakeSubmission) becomes one
QuestionnaireResponse per instrument it asked, keyed RESPONSE_KEYS[<instrument>] in
scheduling.FhirId: an EHR files answers by instrument (the PHQ-9 beside earlier PHQ-9s), and
the LOINC-coded ones map one to one onto LOINC's own panels.

Answers: a coded option is a valueCoding (LOINC's answer where codes.QUESTIONNAIRE_ANSWER_CODES
has it, else Propel's system for the instrument), a 0-10 rating a valueInteger, a No/Yes item a
valueBoolean; the total (or the PEG's mean) computed at submission is a read-only item. Only the
answers that count are sent (intake.answers.effective_answers: an answer to a question no longer
shown is left out), every one exactly as stored, PHQ-9 item 9 included.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.db.models import Q
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)

from intake import answers as answers_
from intake import instruments as instruments_
from intake import questions as questions_
from intake.instruments import Instrument, Item
from intake.models import IntakeSubmission, SubmissionStatus
from intake.scoring import item_value
from scheduling.fhir import codes
from scheduling.fhir.ids import fhir_ids
from scheduling.fhir.resources import PATIENT, _in_english, as_json

# FhirId keys, one per instrument. "QResponse.", not "QuestionnaireResponse.": a key must fit
# FhirId.resource_type (40 characters) and "ketamine_use_history" would not.
RESPONSE_KEYS = {
    instrument_id: f"QResponse.{instrument_id}" for instrument_id in instruments_.instruments()
}
PUBLISHER = "Propel"
LOINC_NOTICE = (
    "This content from LOINC® is copyright © 1995 Regenstrief Institute, Inc. and the LOINC "
    "Committee, and available at no cost under the license at https://loinc.org/license/"
)
YES_NO_OPTIONS = ((0, "No"), (1, "Yes"))


# --- Questionnaire ----------------------------------------------------------------------------


def questionnaire_id(instrument_id: str) -> str:
    """A FHIR id from the instrument id ("nrs11_pain" -> "nrs11-pain": "_" is not allowed)."""
    return instrument_id.replace("_", "-")


def instrument_for(questionnaire: str) -> str | None:
    """The instrument a Questionnaire id, Questionnaire/<id> or canonical url (with or without
    |version) names; None for anything else."""
    value = questionnaire.split("|", 1)[0]
    for prefix in (f"{codes.QUESTIONNAIRE_URL_BASE}/", "Questionnaire/"):
        value = value.removeprefix(prefix)
    return next((i for i in instruments_.instruments() if questionnaire_id(i) == value), None)


def canonical(instrument_id: str) -> str:
    return f"{codes.QUESTIONNAIRE_URL_BASE}/{questionnaire_id(instrument_id)}"


def propel_system(instrument_id: str) -> str:
    return f"{codes.PROPEL_SYSTEM_BASE}/{instrument_id}"


@cache
def _raw_entries() -> dict[str, Any]:
    with instruments_.DATA_FILE.open(encoding="utf-8") as handle:
        return {entry["id"]: entry for entry in json.load(handle)["instruments"]}


def version(instrument_id: str) -> str:
    """A digest of the instrument's definition in the data file: it changes exactly when the
    wording, options or scoring change."""
    raw = json.dumps(_raw_entries()[instrument_id], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def answer_type(item: Item) -> str:
    """boolean (No/Yes), integer (a rating whose labels are its numbers) or choice."""
    options = tuple((o.value, o.label) for o in item.options)
    if options == YES_NO_OPTIONS:
        return "boolean"
    if all(label == str(value) for value, label in options):
        return "integer"
    return "choice"


def answer_coding(instrument_id: str, item: Item, value: int) -> dict[str, str]:
    """The coding of one option: LOINC's answer when confirmed, else Propel's."""
    loinc = codes.QUESTIONNAIRE_ANSWER_CODES.get(item.id, {}).get(value)
    if loinc is not None:
        return {"system": loinc.system, "code": loinc.code, "display": loinc.display}
    label = next(o.label for o in item.options if o.value == value)
    return {"system": propel_system(instrument_id), "code": str(value), "display": label}


def _item_code(instrument_id: str, item_id: str, display: str) -> list[dict[str, str]]:
    loinc = codes.QUESTIONNAIRE_ITEM_CODES.get(item_id)
    if loinc is not None:
        return [{"system": loinc.system, "code": loinc.code, "display": loinc.display}]
    return [{"system": propel_system(instrument_id), "code": item_id, "display": display}]


def total_link_id(instrument_id: str) -> str:
    return f"{instrument_id}_total"


def total_kind(instrument: Instrument) -> str | None:
    """ "integer" for a summed total, "decimal" for a mean, None without a single total."""
    return {"sum": "integer", "mean": "decimal"}.get(instrument.scoring.get("method", ""))


def _total_item(instrument: Instrument) -> dict[str, Any] | None:
    kind = total_kind(instrument)
    if kind is None:
        return None
    text = "Total score" if kind == "integer" else "Mean score"
    loinc = codes.QUESTIONNAIRE_TOTAL_CODES.get(instrument.id)
    code = (
        [{"system": loinc.system, "code": loinc.code, "display": loinc.display}]
        if loinc
        else [{"system": propel_system(instrument.id), "code": "total", "display": text}]
    )
    return {
        "linkId": total_link_id(instrument.id),
        "code": code,
        "text": text,
        "type": kind,
        "readOnly": True,
    }


def _question(instrument: Instrument, item: Item) -> dict[str, Any]:
    kind = answer_type(item)
    data: dict[str, Any] = {
        "linkId": item.id,
        "code": _item_code(instrument.id, item.id, item.text),
        "prefix": str(item.number),
        "text": item.text,
        "type": kind,
        # An item shown only on a condition (the PHQ-9's difficulty, one of TAPS-1's alcohol
        # items) is not required; the conditions are Propel's (docs/fhir.md).
        "required": not item.display_condition and item.id not in answers_.OPTIONAL_ITEMS,
    }
    if kind == "choice":
        data["answerOption"] = [
            {"valueCoding": answer_coding(instrument.id, item, o.value)} for o in item.options
        ]
    return data


def _copyright(instrument: Instrument) -> str:
    parts = [instrument.attribution]
    if instrument.citation and instrument.citation != instrument.attribution:
        parts.append(f"Source: {instrument.citation}")
    if any(item.id in codes.QUESTIONNAIRE_ITEM_CODES for item in instrument.items):
        parts.append(LOINC_NOTICE)
    return "\n".join(part for part in parts if part)


@cache
def _questionnaire_json(instrument_id: str) -> dict[str, Any]:
    instrument = instruments_.instrument(instrument_id)
    items: list[dict[str, Any]] = []
    if instrument.stem:
        stem = {"linkId": f"{instrument.id}_stem", "text": instrument.stem, "type": "display"}
        items.append(stem)
    items += [_question(instrument, item) for item in instrument.items]
    total = _total_item(instrument)
    if total is not None:
        items.append(total)
    code = codes.QUESTIONNAIRE_CODES.get(instrument.id)
    data: dict[str, Any] = {
        "id": questionnaire_id(instrument.id),
        "url": canonical(instrument.id),
        "version": version(instrument.id),
        "name": "".join(part.capitalize() for part in instrument.id.split("_")),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": PUBLISHER,
        "description": instrument.instructions or instrument.stem or instrument.title,
        "copyright": _copyright(instrument),
        "language": "en",
        "item": items,
    }
    if code is not None:
        data["code"] = [{"system": code.system, "code": code.code, "display": code.display}]
    return as_json(FhirQuestionnaire.model_validate(data))


def questionnaire(instrument_id: str) -> dict[str, Any]:
    """The instrument's Questionnaire as validated FHIR JSON (built once; a copy each call)."""
    return copy.deepcopy(_questionnaire_json(instrument_id))


def all_questionnaires() -> list[dict[str, Any]]:
    return [questionnaire(instrument_id) for instrument_id in instruments_.instruments()]


# --- QuestionnaireResponse --------------------------------------------------------------------


def submissions_with(instrument_id: str) -> Q:
    """The sent submissions that asked this instrument and hold an answer to it: for each
    questionnaire kind that asks it, that kind, the instrument's step shown (the PCL-5 only
    after a stressful experience) and an answer to one of its unconditional items. Each such row
    yields exactly one QuestionnaireResponse."""
    instrument = instruments_.instrument(instrument_id)
    always_asked = [item.id for item in instrument.items if not item.display_condition]
    condition = Q(pk__in=[])
    for kind in questions_.QUESTIONNAIRES:
        for section in questions_.sections(kind):
            for part in section.parts:
                if not isinstance(part, questions_.InstrumentBlock):
                    continue
                if part.instrument_id != instrument_id:
                    continue
                asked = Q(kind=kind, answers__has_any_keys=always_asked)
                if part.show_if:
                    key, values = part.show_if
                    asked &= Q(**{f"answers__{key}__in": list(values)})
                condition |= asked
    return Q(status=SubmissionStatus.SUBMITTED) & condition


def _answer(instrument_id: str, item: Item, value: int) -> dict[str, Any]:
    kind = answer_type(item)
    if kind == "boolean":
        return {"valueBoolean": value == 1}
    if kind == "integer":
        return {"valueInteger": value}
    return {"valueCoding": answer_coding(instrument_id, item, value)}


def _total_answer(instrument: Instrument, submission: IntakeSubmission) -> dict[str, Any] | None:
    scores = submission.scores if isinstance(submission.scores, dict) else {}
    result = scores.get(instrument.id)
    if not isinstance(result, dict):
        return None
    kind = total_kind(instrument)
    if kind == "integer":
        total = result.get("total")
        if isinstance(total, int) and not isinstance(total, bool):
            return {"valueInteger": total}
    if kind == "decimal" and result.get("mean") is not None:
        try:
            return {"valueDecimal": Decimal(str(result["mean"]))}
        except InvalidOperation:
            return None
    return None


def response_items(instrument_id: str, submission: IntakeSubmission) -> list[dict[str, Any]]:
    """The answers that count, in the instrument's order, then its total when computed."""
    instrument = instruments_.instrument(instrument_id)
    effective = answers_.effective_answers(submission.answers, submission.kind)
    items = []
    for item in instrument.items:
        value = item_value(effective, item.id) if item.id in effective else None
        if value is None:
            continue
        items.append(
            {"linkId": item.id, "text": item.text, "answer": [_answer(instrument_id, item, value)]}
        )
    total = _total_answer(instrument, submission)
    if total is not None:
        text = "Total score" if total_kind(instrument) == "integer" else "Mean score"
        items.append({"linkId": total_link_id(instrument_id), "text": text, "answer": [total]})
    return items


@_in_english
def questionnaire_responses(
    instrument_id: str, submissions: Sequence[IntakeSubmission]
) -> list[FhirQuestionnaireResponse]:
    """One QuestionnaireResponse per submission (rows of `submissions_with(instrument_id)`),
    in three to five queries whatever their number (the ids of the responses and patients)."""
    ids = fhir_ids(RESPONSE_KEYS[instrument_id], [row.pk for row in submissions])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row in submissions})
    built = []
    for row in submissions:
        patient = {"reference": f"Patient/{patient_ids[row.patient_id]}"}
        built.append(
            FhirQuestionnaireResponse.model_validate(
                {
                    "id": ids[row.pk],
                    "meta": {"lastUpdated": row.updated_at},
                    "questionnaire": canonical(instrument_id),
                    "status": "completed",
                    "subject": patient,
                    "authored": row.submitted_at,
                    "author": patient,
                    "source": patient,
                    "item": response_items(instrument_id, row) or None,
                }
            )
        )
    return built


def build_questionnaire_responses(
    instrument_id: str, submissions: Sequence[IntakeSubmission]
) -> list[dict[str, Any]]:
    return [as_json(resource) for resource in questionnaire_responses(instrument_id, submissions)]
