"""Which version of each consent form is in force, and whose signature still counts.

A version is in force from its effective date; the newest such version is the one a patient signs.
A signature counts while no version published after it (and in force) asks patients to sign again
(`resign_required`): a typo fix keeps earlier signatures, a material change does not. Publishing a
version never touches an existing signature (both are append-only); it only changes what counts.

Read by the signing pages (intake.consent_forms), the requirements (intake.requirements) and the
staff pages; one query per call whatever the number of patients.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from intake.paperwork_models import ConsentForm, ConsentFormVersion, ConsentSignature


def versions_in_force(today: dt.date) -> dict[int, ConsentFormVersion]:
    """form id -> the version a patient signs today, for every active form with one in force."""
    current: dict[int, ConsentFormVersion] = {}
    versions = (
        ConsentFormVersion.objects.filter(form__active=True, effective_date__lte=today)
        .select_related("form")
        .order_by("form_id", "number")
    )
    for version in versions:
        current[version.form_id] = version
    return current


def minimum_numbers(today: dt.date) -> dict[int, int]:
    """form id -> the lowest version number whose signature still counts today."""
    minimum: dict[int, int] = {}
    rows = ConsentFormVersion.objects.filter(effective_date__lte=today).values_list(
        "form_id", "number", "resign_required"
    )
    for form_id, number, resign in sorted(rows):
        if resign or form_id not in minimum:
            minimum[form_id] = number
    return minimum


def signed_forms(patient_ids: Iterable[int], *, today: dt.date) -> dict[int, set[int]]:
    """patient id -> ids of the forms whose signature on file still counts today."""
    ids = list(patient_ids)
    found: dict[int, set[int]] = defaultdict(set)
    if not ids:
        return found
    minimum = minimum_numbers(today)
    rows = ConsentSignature.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "version__form_id", "version__number"
    )
    for patient_id, form_id, number in rows:
        if number >= minimum.get(form_id, 0):
            found[patient_id].add(form_id)
    return found


def active_forms() -> list[ConsentForm]:
    return list(ConsentForm.objects.filter(active=True))
