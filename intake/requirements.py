"""What must be on file before a step (the clinic's Requirement rows), what is missing for a
patient, and a clinician's waiver of one item.

`missing_items` is the one home of "what is missing": the lifecycle's gate
(scheduling.transitions: a consultation's check-in, a treatment visit's start), the day sheet,
the visit screen, the staff patient page, the patient's own page and the 72-hour reminder all
call it. It runs a fixed number of queries whatever the number of patients.

What counts:
- a form: a signature that still counts today (intake.consent_versions.signed_forms). A form with
  no version in force (or not in use) cannot be signed, so it is not required;
- a document kind: a PatientDocument of that kind for the patient, not set aside (removed_at null);
- a waiver: a clinician's RequirementWaiver for the patient and that requirement (append-only;
  `requirement_waive`) means the item is no longer missing.

Steps: a consultation needs the "consultation" requirements; a treatment visit (an appointment
type that needs clearance: infusion, maintenance) needs the "first_infusion" ones and the
consultation's too (STEP_COVERS: a form that must be signed before the consultation must still
count at an infusion, so a new version that asks patients to sign again holds the next infusion
until they have), checked at every start, so a document set aside later is asked for again.
Other visits need nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.consent_versions import signed_forms, versions_in_force
from intake.models import Patient
from intake.paperwork_models import (
    DocumentKind,
    PatientDocument,
    Requirement,
    RequirementStep,
    RequirementWaiver,
)
from propel.audit import audit_record
from propel.roles import Capability, can

FORM = "form"
DOCUMENT = "document"
# Where the patient puts each kind of item right, on their link (intake's patient pages).
PATIENT_URL_NAMES = {FORM: "intake:forms", DOCUMENT: "intake:documents"}
# The staff patient page's section listing what must be on file (scheduling's patient page).
STAFF_ANCHOR = "on-file"
# A waiver's reason: at least this many words (a clinician's sentence, not "ok").
REASON_MIN_WORDS = 3


@dataclass(frozen=True)
class MissingItem:
    """One requirement the patient has not met for a step."""

    requirement_id: int
    step: str
    kind: str  # FORM or DOCUMENT
    title: str  # the form's title or the document kind's name
    waivable: bool
    form_kind: str = ""
    document_kind: str = ""

    @property
    def label(self) -> str:
        """Staff and patient wording: "Sign: Financial policy", "Upload or bring: Photo ID"."""
        if self.kind == FORM:
            return _("Sign: %(title)s") % {"title": self.title}
        return _("Upload or bring: %(title)s") % {"title": self.title}

    @property
    def patient_url_name(self) -> str:
        return PATIENT_URL_NAMES[self.kind]


@dataclass(frozen=True)
class RequirementLine:
    """One requirement of a step as the staff patient page shows it."""

    requirement: Requirement
    title: str
    kind: str
    state: str  # "on_file", "missing" or "waived"
    waiver: RequirementWaiver | None = None


class WaiverRefused(Exception):
    """A waiver that may not be given; `.message` is a sentence fit to show the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def visit_step(*, needs_clearance: bool, type_code: str) -> str | None:
    """The step a visit of this type must have its paperwork for, or None (no requirement)."""
    if needs_clearance:
        return RequirementStep.FIRST_INFUSION
    if type_code == "consultation":
        return RequirementStep.CONSULTATION
    return None


def _title(requirement: Requirement) -> str:
    if requirement.consent_form is not None:
        return requirement.consent_form.title
    return str(DocumentKind(requirement.document_kind).label)


def _requirements(steps: Iterable[str], today: dt.date) -> list[Requirement]:
    """The requirements in force for these steps that can be met today (a form needs a version
    in force): two queries, one when there is no form requirement."""
    rows = list(
        Requirement.objects.filter(active=True, step__in=list(steps))
        .select_related("consent_form")
        .order_by("step", "consent_form__order", "id")
    )
    if any(r.consent_form_id for r in rows):
        in_force = versions_in_force(today)
        rows = [r for r in rows if r.consent_form_id is None or r.consent_form_id in in_force]
    return rows


def _met(
    ids: list[int], requirements: list[Requirement], today: dt.date
) -> tuple[dict[int, set[int]], dict[int, set[str]], dict[int, dict[int, RequirementWaiver]]]:
    """Per patient: signed form ids, document kinds on file, waivers by requirement id."""
    signed: dict[int, set[int]] = defaultdict(set)
    documents: dict[int, set[str]] = defaultdict(set)
    waivers: dict[int, dict[int, RequirementWaiver]] = defaultdict(dict)
    if not ids or not requirements:
        return signed, documents, waivers
    if any(r.consent_form_id for r in requirements):
        signed.update(signed_forms(ids, today=today))
    kinds = {r.document_kind for r in requirements if r.document_kind}
    if kinds:
        rows = PatientDocument.objects.filter(
            patient_id__in=ids, kind__in=kinds, removed_at__isnull=True
        ).values_list("patient_id", "kind")
        for patient_id, kind in rows:
            documents[patient_id].add(kind)
    found = RequirementWaiver.objects.filter(
        patient_id__in=ids, requirement__in=[r.pk for r in requirements]
    ).select_related("by")
    for waiver in found:
        waivers[waiver.patient_id].setdefault(waiver.requirement_id, waiver)
    return signed, documents, waivers


def _is_on_file(
    requirement: Requirement,
    patient_id: int,
    signed: dict[int, set[int]],
    docs: dict[int, set[str]],
) -> bool:
    if requirement.consent_form_id is not None:
        return requirement.consent_form_id in signed.get(patient_id, set())
    return requirement.document_kind in docs.get(patient_id, set())


def _item(requirement: Requirement) -> MissingItem:
    form = requirement.consent_form
    return MissingItem(
        requirement_id=requirement.pk,
        step=requirement.step,
        kind=FORM if form is not None else DOCUMENT,
        title=_title(requirement),
        waivable=requirement.waivable,
        form_kind=form.kind if form is not None else "",
        document_kind=requirement.document_kind,
    )


def missing_items(
    patient_ids: Iterable[int], *, step: str, today: dt.date
) -> dict[int, list[MissingItem]]:
    """patient id -> what is still missing before `step` (empty list: nothing), in the clinic's
    order (forms by their order, then documents). At most six queries for any number of
    patients; one when the clinic requires nothing at all."""
    return missing_items_by_step({(pid, step) for pid in patient_ids}, today=today).get(step, {})


# The requirements a step asks for: its own and those of every step before it.
STEP_COVERS: dict[str, frozenset[str]] = {
    RequirementStep.CONSULTATION: frozenset({RequirementStep.CONSULTATION}),
    RequirementStep.FIRST_INFUSION: frozenset(
        {RequirementStep.CONSULTATION, RequirementStep.FIRST_INFUSION}
    ),
}


def missing_items_by_step(
    pairs: Iterable[tuple[int, str]], *, today: dt.date
) -> dict[str, dict[int, list[MissingItem]]]:
    """step -> patient id -> missing items, for (patient id, step) pairs of mixed steps (a day
    sheet with consultations and infusions): the same fixed number of queries."""
    pairs = {(pid, step) for pid, step in pairs if step}
    result: dict[str, dict[int, list[MissingItem]]] = defaultdict(dict)
    for pid, step in pairs:
        result[step][pid] = []
    if not pairs:
        return result
    # Every step's requirements, whatever the steps asked: the same queries for any mix of visits.
    requirements = _requirements(RequirementStep.values, today)
    ids = sorted({pid for pid, _step in pairs})
    signed, documents, waivers = _met(ids, requirements, today)
    for pid, step in pairs:
        result[step][pid] = [
            _item(r)
            for r in requirements
            if r.step in STEP_COVERS[step]
            and not _is_on_file(r, pid, signed, documents)
            and r.pk not in waivers.get(pid, {})
        ]
    return result


def requirement_lines(patient_id: int, *, today: dt.date) -> dict[str, list[RequirementLine]]:
    """step -> every requirement in force with its state for this patient (the staff patient
    page's "What must be on file"), in the fixed number of queries of missing_items."""
    steps = list(RequirementStep.values)
    requirements = _requirements(steps, today)
    signed, documents, waivers = _met([patient_id], requirements, today)
    lines: dict[str, list[RequirementLine]] = {step: [] for step in steps}
    for r in requirements:
        waiver = waivers.get(patient_id, {}).get(r.pk)
        if _is_on_file(r, patient_id, signed, documents):
            state = "on_file"
        elif waiver is not None:
            state = "waived"
        else:
            state = "missing"
        kind = FORM if r.consent_form_id else DOCUMENT
        lines[r.step].append(RequirementLine(r, _title(r), kind, state, waiver))
    return lines


def waiver_reason_ok(reason: str) -> bool:
    """A waiver's reason is a clinician's sentence: at least REASON_MIN_WORDS words."""
    return len(reason.split()) >= REASON_MIN_WORDS


def requirement_waive(
    *,
    patient_id: int,
    requirement_id: int,
    reason: str,
    request: HttpRequest | None = None,
    actor: Any = None,
    now: dt.datetime | None = None,
) -> RequirementWaiver:
    """A clinician waives one requirement for a patient, with a reason: an append-only
    RequirementWaiver and the audit event `requirement.waived`, in one transaction. Refused
    (WaiverRefused, nothing stored) for anyone but a clinician, a requirement that may not be
    waived or is not in force, a reason of fewer than REASON_MIN_WORDS words, or an item waived
    already (two clinicians at once: the patient's row is locked). Who waives: `actor`, else the
    request's user (a page); a command or the demo data passes `actor` and no request."""
    user: Any = actor if actor is not None else getattr(request, "user", None)
    if not can(user, Capability.CLEARANCE_DECIDE):
        raise WaiverRefused(_("Only a clinician may waive what must be on file."))
    reason = " ".join(reason.split())
    if not waiver_reason_ok(reason):
        raise WaiverRefused(
            _("Give the reason for the waiver in a few words (at least %(n)d).")
            % {"n": REASON_MIN_WORDS}
        )
    now = now or timezone.now()
    with transaction.atomic():
        patient = Patient.objects.select_for_update().filter(pk=patient_id).first()
        requirement = Requirement.objects.filter(pk=requirement_id, active=True).first()
        if patient is None or requirement is None:
            raise WaiverRefused(_("This requirement is not in force for this patient."))
        if not requirement.waivable:
            raise WaiverRefused(_("This requirement may not be waived."))
        if RequirementWaiver.objects.filter(
            patient_id=patient_id, requirement_id=requirement_id
        ).exists():
            raise WaiverRefused(_("This requirement was already waived for this patient."))
        waiver = RequirementWaiver.objects.create(
            patient_id=patient_id, requirement=requirement, reason=reason, by=user, at=now
        )
        audit_record(
            action="requirement.waived",
            actor=user,
            request=request,
            patient_id=patient_id,
            obj=waiver,
            detail={"requirement_id": requirement.pk, "step": requirement.step},
        )
    return waiver
