"""The Questionnaire and QuestionnaireResponse types of the FHIR API (docs/fhir.md).

Questionnaire: one per instrument, public definitions built from the data file, not rows: read by
their readable id, searched by `url` and `name`, outside the Patient compartment (a patient-level
export leaves them out; a system-level one writes them all, whatever `_since`).

QuestionnaireResponse: one source per instrument (scheduling.fhir.questionnaires), each a RowKind
over the sent submissions that asked it, so a search pages across instruments in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from intake import instruments as instruments_
from intake.models import IntakeSubmission
from scheduling.fhir import questionnaires
from scheduling.fhir.errors import bad_request
from scheduling.fhir.kinds import (
    EXPORT_BATCH,
    SEARCHABLE,
    Found,
    Kind,
    MultiKind,
    Page,
    Query,
    RowKind,
    SearchParam,
    last_updated,
    patient_reference,
)
from scheduling.fhir.search import date_filter

# http://hl7.org/fhir/ValueSet/questionnaire-answers-status (required binding)
RESPONSE_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")


def _values(values: list[str]) -> list[str]:
    return [part for value in values for part in value.split(",") if part]


def _questionnaire_matches(resource: dict[str, Any], name: str, values: list[str]) -> bool:
    wanted = _values(values)
    if name == "url":
        url, version = resource["url"], resource["version"]
        return any(v == url or v == f"{url}|{version}" for v in wanted)
    # FHIR string search: case-insensitive, starts with (on the name or the title).
    names = (resource["name"].lower(), resource["title"].lower())
    return any(n.startswith(v.lower()) for v in wanted for n in names)


def _matched_in_memory(values: list[str]) -> Q:
    """Questionnaires are not rows: QuestionnaireKind.search matches them itself."""
    return Q()


QUESTIONNAIRE_PARAMS = (
    SearchParam("url", "uri", "The canonical url (optionally |version)", _matched_in_memory),
    SearchParam(
        "name",
        "string",
        "The name or title starts with this (case-insensitive)",
        _matched_in_memory,
    ),
)


@dataclass(frozen=True)
class QuestionnaireKind:
    """The instruments' Questionnaires: no rows, no queries."""

    type: str = "Questionnaire"
    params: tuple[SearchParam, ...] = QUESTIONNAIRE_PARAMS
    interactions: tuple[str, ...] = SEARCHABLE
    in_patient_compartment: bool = False

    def read(self, fhir_id: str) -> Found | None:
        instrument_id = next(
            (
                i
                for i in instruments_.instruments()
                if questionnaires.questionnaire_id(i) == fhir_id
            ),
            None,
        )
        if instrument_id is None:
            return None
        return Found([questionnaires.questionnaire(instrument_id)], [])

    def search(self, query: Query, offset: int, count: int) -> Page:
        names = {p.name for p in self.params}
        for name in query:
            if name not in names:
                raise bad_request(f"the search parameter '{name[:40]}' is not supported")
        found = [
            resource
            for resource in questionnaires.all_questionnaires()
            if all(_questionnaire_matches(resource, n, v) for n, v in query.items())
        ]
        return Page(Found(found[offset : offset + count], []), len(found) > offset + count)

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]:
        if patient_pks is None:
            yield Found(questionnaires.all_questionnaires(), [])


def _response_status(values: list[str]) -> Q:
    """Only sent submissions are exported, so only `completed` finds anything."""
    codes = _values(values)
    for code in codes:
        if code not in RESPONSE_STATUSES:
            raise bad_request(f"status: '{code[:40]}' is not a QuestionnaireResponse status")
    return Q() if "completed" in codes else Q(pk__in=[])


def _questionnaire_param(instrument_id: str) -> SearchParam:
    def condition(values: list[str]) -> Q:
        named = {questionnaires.instrument_for(value) for value in _values(values)}
        return Q() if instrument_id in named else Q(pk__in=[])

    return SearchParam(
        "questionnaire",
        "reference",
        "The Questionnaire: its id, Questionnaire/<id> or its canonical url",
        condition,
    )


def _response_source(instrument_id: str) -> RowKind:
    return RowKind(
        type="QuestionnaireResponse",
        key=questionnaires.RESPONSE_KEYS[instrument_id],
        queryset=lambda: IntakeSubmission.objects.filter(
            questionnaires.submissions_with(instrument_id)
        ),
        build=lambda rows: questionnaires.build_questionnaire_responses(instrument_id, rows),
        patient_id=lambda submission: submission.patient_id,
        params=(
            patient_reference(),
            _questionnaire_param(instrument_id),
            SearchParam(
                "authored",
                "date",
                "When the answers were sent (prefixes eq, gt, lt, ge, le)",
                lambda values: date_filter("submitted_at", "authored", values),
            ),
            SearchParam(
                "status",
                "token",
                "completed (only sent answers are served), comma separated",
                _response_status,
            ),
            last_updated(),
        ),
        order=("submitted_at", "pk"),
    )


QUESTIONNAIRE = QuestionnaireKind()

QUESTIONNAIRE_RESPONSE = MultiKind(
    type="QuestionnaireResponse",
    sources=tuple(_response_source(i) for i in instruments_.instruments()),
)

KINDS: tuple[Kind, ...] = (QUESTIONNAIRE, QUESTIONNAIRE_RESPONSE)
