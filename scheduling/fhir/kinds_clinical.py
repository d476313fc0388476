"""The clinical side of the read API: Practitioner (clinicians), Organization (the clinic),
Location (rooms), Observation (scores, vital signs, the clinician's clearance) and Flag
(eligibility flags). docs/fhir.md, "Served types and search parameters", lists what each serves.

Observation is one type from seven kinds of rows, each one row -> one resource (a PHQ-9 total, a
GAD-7 total, a reading's blood pressure panel, heart rate, SpO2 or weight, a clearance decision),
so it pages across them as a MultiKind. `category` and `code` are decided per source without a
query: a source whose codes do not match contributes `Q(pk__in=[])`, which Django answers empty
without asking the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Q, QuerySet

from intake.models import ClearanceDecision, Flag, IntakeSubmission
from scheduling.fhir import codes, ids, resources
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
    date_param,
    last_updated,
    patient_reference,
)
from scheduling.fhir.search import single, token_parts
from scheduling.models import Clinician, Room, VitalReading

NOTHING = Q(pk__in=[])


# --- Token and string parameters ----------------------------------------------------------------


def matches_token(name: str, values: list[str], served: tuple[codes.Code, ...]) -> bool:
    """Every value (AND) has an alternative (OR) that is one of `served`. Pure, no query; every
    value is parsed, so a malformed one is a 400 whichever source asks."""
    wanted = [token_parts(name, value) for value in values]
    return all(
        any(
            code.code == part_code and (system is None or system == code.system)
            for system, part_code in parts
            for code in served
        )
        for parts in wanted
    )


def token_param(name: str, documentation: str, served: tuple[codes.Code, ...]) -> SearchParam:
    """A token matched against this source's own codes: all of its rows or none of them."""
    return SearchParam(
        name,
        "token",
        documentation,
        lambda values: Q() if matches_token(name, values, served) else NOTHING,
    )


def choice_param(name: str, documentation: str, choices: dict[str, Q]) -> SearchParam:
    """A token over a fixed list of codes (comma = or), each a condition; any other is a 400."""

    def condition(values: list[str]) -> Q:
        found = Q()
        for value in values:
            alternatives = []
            for code in value.split(","):
                if code not in choices:
                    allowed = ", ".join(choices)
                    raise bad_request(f"{name}: '{code[:40]}' is not one of {allowed}")
                alternatives.append(choices[code])
            # An empty Q() (every row) would vanish from an "or": it wins outright instead.
            found &= Q() if not all(alternatives) else functools.reduce(operator.or_, alternatives)
        return found

    return SearchParam(name, "token", documentation, condition)


def name_param(field_name: str) -> SearchParam:
    def condition(values: list[str]) -> Q:
        value = single("name", values)
        # PostgreSQL refuses NUL in text (a 500 if it got there); no name holds one anyway.
        if "\x00" in value:
            raise bad_request("name: a NUL character is not allowed")
        return Q(**{f"{field_name}__istartswith": value})

    return SearchParam(
        "name", "string", "The name starts with this text (case-insensitive)", condition
    )


# --- Observation -------------------------------------------------------------------------------

OBSERVATION_DATE = (
    "The effective time (prefixes eq, gt, lt, ge, le): when the questionnaire was submitted, "
    "the vital signs taken, the clearance decided"
)
OBSERVATION_CATEGORY = "survey (scores) or vital-signs, as code or system|code; comma = or"
OBSERVATION_CODE = (
    "LOINC code (e.g. 44261-6, http://loinc.org|8867-4) or Propel's clearance code; comma = or"
)
OBSERVATION_UPDATED = (
    "When the resource last changed: a submission's updated_at; a vital-sign reading or a "
    "clearance decision never changes after it is written, so when it was taken or decided"
)


def observation_source(
    key: str,
    *,
    queryset: Callable[[], QuerySet[Any]],
    build: Callable[[list[Any]], list[Any]],
    patient_field: str,
    date_field: str,
    updated_field: str,
    category: codes.Code | None,
    served_codes: tuple[codes.Code, ...],
) -> RowKind:
    """One kind of row behind Observation (resources.OBSERVATION_KEYS[key]), with the parameters
    every source serves."""
    patient_attr = patient_field.replace("__", ".")

    def patient_id(row: Any) -> int:
        value = row
        for attr in patient_attr.split("."):
            value = getattr(value, attr)
        return int(value)

    return RowKind(
        type="Observation",
        key=resources.OBSERVATION_KEYS[key],
        queryset=queryset,
        build=lambda rows: [resources.as_json(built) for built in build(rows)],
        patient_id=patient_id,
        params=(
            patient_reference(patient_field),
            date_param(date_field, OBSERVATION_DATE),
            token_param("category", OBSERVATION_CATEGORY, (category,) if category else ()),
            token_param("code", OBSERVATION_CODE, served_codes),
            SearchParam(
                "_lastUpdated",
                "date",
                OBSERVATION_UPDATED,
                last_updated(updated_field).condition,
            ),
        ),
        order=(date_field, "pk"),
        since_field=updated_field,
        patient_field=patient_field,
    )


def _score_source(instrument_id: str) -> RowKind:
    return observation_source(
        instrument_id,
        queryset=lambda: resources.score_rows(IntakeSubmission.objects.all(), instrument_id),
        build=lambda rows: resources.score_observations_of(instrument_id, rows),
        patient_field="patient_id",
        date_field="submitted_at",
        updated_field="updated_at",
        category=codes.SURVEY,
        served_codes=(codes.SCORE_CODES[instrument_id],),
    )


# The codes each vital sign's Observation carries in Observation.code (SpO2 carries two).
VITAL_SIGN_CODES: dict[str, tuple[codes.Code, ...]] = {
    "bp": (codes.BP_PANEL,),
    "heart_rate": (codes.HEART_RATE,),
    "spo2": (codes.SPO2, codes.SPO2_PULSE_OXIMETRY),
    "weight": (codes.BODY_WEIGHT,),
}


def _vital_sign_source(key: str) -> RowKind:
    return observation_source(
        key,
        queryset=lambda: resources.vital_sign_rows(VitalReading.objects.all(), key),
        build=lambda rows: resources.vital_sign_observations_of(key, rows),
        patient_field="visit__appointment__patient_id",
        date_field="taken_at",
        updated_field="taken_at",
        category=codes.VITAL_SIGNS,
        served_codes=VITAL_SIGN_CODES[key],
    )


CLEARANCE_SOURCE = observation_source(
    "clearance",
    queryset=lambda: resources.clearance_rows(ClearanceDecision.objects.all()),
    build=resources.clearance_observations,
    patient_field="patient_id",
    date_field="decided_at",
    updated_field="decided_at",
    category=None,
    served_codes=(codes.CLEARANCE,),
)

OBSERVATION = MultiKind(
    type="Observation",
    sources=(
        *(_score_source(instrument_id) for instrument_id in codes.SCORE_CODES),
        *(_vital_sign_source(key) for key in resources.VITAL_SIGNS),
        CLEARANCE_SOURCE,
    ),
    description="Scores, day-of vital signs and the clinician's clearance decisions",
)


# --- Flag --------------------------------------------------------------------------------------

# A flag records what a rule found in one screening round; nothing in Propel resolves or retires
# it (an acknowledgement is a note on it, a newer round raises its own flags), so every flag is
# active and the other statuses find nothing.
FLAG = RowKind(
    type="Flag",
    queryset=lambda: resources.flag_rows(Flag.objects.all()),
    build=lambda rows: resources.all_of(resources.flags, rows),
    patient_id=lambda flag: flag.submission.patient_id,
    params=(
        patient_reference("submission__patient_id"),
        choice_param(
            "status",
            "active (every flag), inactive or entered-in-error (none); comma = or",
            {"active": Q(), "inactive": NOTHING, "entered-in-error": NOTHING},
        ),
        SearchParam(
            "_lastUpdated",
            "date",
            "When the flag was raised (flags never change after)",
            last_updated("created_at").condition,
        ),
    ),
    order=("created_at", "pk"),
    since_field="created_at",
    patient_field="submission__patient_id",
)


# --- Practitioner and Location (not in the Patient compartment) --------------------------------

# Clinician and Room keep no change time, so neither serves _lastUpdated, and a bulk export
# writes every one of them whatever its _since.
PRACTITIONER = RowKind(
    type="Practitioner",
    queryset=lambda: Clinician.objects.all(),
    build=lambda rows: resources.all_of(resources.practitioners, rows),
    patient_id=lambda _: None,
    params=(
        name_param("display_name"),
        choice_param(
            "active",
            "true (in practice) or false",
            {"true": Q(active=True), "false": Q(active=False)},
        ),
    ),
    order=("display_name", "pk"),
    since_field=None,
    patient_field=None,
)

LOCATION = RowKind(
    type="Location",
    queryset=lambda: Room.objects.all(),
    build=lambda rows: resources.all_of(resources.locations, rows),
    patient_id=lambda _: None,
    params=(
        name_param("name"),
        choice_param(
            "status",
            "active (in use) or inactive; comma = or",
            {"active": Q(active=True), "inactive": Q(active=False), "suspended": NOTHING},
        ),
    ),
    order=("name", "pk"),
    since_field=None,
    patient_field=None,
)


# --- Organization: the clinic, one resource from settings, not a row ----------------------------


class ClinicOrganization:
    """The clinic as the one Organization (resources.organization). Read by its FhirId; search
    returns it; a system-level export writes it whatever `_since` (its facts live in settings,
    which keep no change time); a patient-level export leaves it out."""

    type = "Organization"
    params: tuple[SearchParam, ...] = ()
    interactions = SEARCHABLE
    in_patient_compartment = False
    description = "The clinic"

    def _found(self) -> Found:
        return Found([resources.build_organization()], [])

    def read(self, fhir_id: str) -> Found | None:
        pk = ids.resolve(resources.ORGANIZATION, fhir_id)
        return self._found() if pk == resources.CLINIC_PK else None

    def search(self, query: Query, offset: int, count: int) -> Page:
        for name in query:
            raise bad_request(f"the search parameter '{name[:40]}' is not supported")
        return Page(self._found() if offset == 0 else Found([], []), has_next=False)

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]:
        if patient_pks is None:
            yield self._found()


ORGANIZATION = ClinicOrganization()

# In the order the registry lists them (Patient and Appointment are the registry's own).
KINDS: tuple[Kind, ...] = (PRACTITIONER, ORGANIZATION, LOCATION, OBSERVATION, FLAG)
