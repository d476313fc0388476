"""Referrals from other clinicians' offices (issue 21, item 5): the public form's service, the
confirmation email to the referring office, and the front desk's queue (status, link to a patient).

- Receiving (`referral_receive`): the referral, its letter (intake.documents, source and kind
  REFERRAL) and the confirmation's outbox entry in one transaction. The reference the office is
  shown is a short random code, not the row's id. A second submit of the same form (its one-time
  key) finds the first referral instead of making a second.
- The confirmation (`referral_confirmation_send`): the referral row is its own outbox row. There
  is exactly one email per referral and its reader is an office, not a patient, so scheduling's
  patient outbox (rows per appointment, kind and channel, with opt-outs and quiet hours) does not
  fit, and a table of its own would only repeat the referral's key. A task queued after commit
  and a one-minute beat sweep both call the sender, which locks the row (skip_locked), checks it
  is still due, sends and clears `confirmation_due_at` in that transaction: each email once. A
  transient mail error is retried with back-off; after MAX_CONFIRMATION_ATTEMPTS the failure is
  shown in the queue and the audit log. The email names no patient: the reference, what happens
  next and the clinic's phone.
- The queue: status changes through `referral_status_set` (a pure table of allowed moves, a
  conditional update, an audit event); `referral_link_patient` ties the referral to a patient and
  hands them its documents (so the letter counts for the requirements, intake.requirements).
- Access: contact details for every staff role (Capability.CALENDAR); the reason and the letter
  only for Capability.HEALTH_RECORD. Every read is audited (`referral.viewed`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from intake.documents import CleanDocument, document_store
from intake.models import Patient
from intake.paperwork_models import (
    DocumentKind,
    DocumentSource,
    PatientDocument,
    Referral,
    ReferralStatus,
)
from propel.audit import audit_record
from propel.emails import send_email
from propel.tasks_queue import enqueue_on_commit

logger = logging.getLogger(__name__)

SEND_CONFIRMATION_TASK = "intake.tasks.send_referral_confirmation"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
MAX_CONFIRMATION_ATTEMPTS = 8
CONFIRMATION_BACKOFF = dt.timedelta(minutes=1)
CONFIRMATION_BACKOFF_MAX = dt.timedelta(hours=1)
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)
OPEN_STATUSES = (ReferralStatus.NEW, ReferralStatus.CONTACTED)

# Where a referral may go from each status. Closing always needs a note (why).
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    ReferralStatus.NEW: (ReferralStatus.CONTACTED, ReferralStatus.BOOKED, ReferralStatus.CLOSED),
    ReferralStatus.CONTACTED: (ReferralStatus.BOOKED, ReferralStatus.CLOSED),
    ReferralStatus.BOOKED: (ReferralStatus.CLOSED,),
    ReferralStatus.CLOSED: (),
}
NOTE_REQUIRED = frozenset({ReferralStatus.CLOSED})


class ReferralError(Exception):
    """A refused change; `message` is fit to show the staff member."""

    messages = {
        "not_allowed": gettext_lazy("A referral cannot go from this status to that one."),
        "note_required": gettext_lazy("Please say why in the note."),
        "changed": gettext_lazy(
            "Someone else changed this referral a moment ago. Here is what it says now."
        ),
        "linked": gettext_lazy("This referral is already linked to a patient."),
    }

    def __init__(self, code: str) -> None:
        self.code = code
        self.message = str(self.messages[code])
        super().__init__(self.message)


# --- Pure rules ----------------------------------------------------------------------------------


def referral_reference_new() -> str:
    """A short random code, e.g. "7KQ3-M9XP": what the office quotes when it calls."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def status_change_allowed(current: str, wanted: str) -> bool:
    return wanted in NEXT_STATUSES.get(current, ())


def age_in_days(received_at: dt.datetime, today: dt.date) -> int:
    """Whole clinic-calendar days since the referral arrived (0 on the day)."""
    return max((today - timezone.localtime(received_at).date()).days, 0)


def confirmation_backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 ... minutes after the nth failed attempt, at most an hour."""
    return min(CONFIRMATION_BACKOFF * 2 ** max(attempts - 1, 0), CONFIRMATION_BACKOFF_MAX)


# --- Receiving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralDetails:
    referrer_name: str
    referrer_practice: str
    referrer_phone: str
    referrer_email: str
    patient_first_name: str
    patient_last_name: str
    patient_date_of_birth: dt.date
    patient_phone: str
    patient_email: str
    reason: str


def referral_receive(
    *,
    details: ReferralDetails,
    letter: CleanDocument | None = None,
    form_key: str | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Record a referral from the public form, its letter, and its confirmation email (due now,
    sent after commit by a task, or by the sweep if the broker is down), in one transaction.

    Idempotent on `form_key`: a second submit of the same form returns the first referral and
    stores nothing. Audited `referral.received` (no field values; the sender's IP address from
    `request`).
    """
    now = now or timezone.now()
    if form_key and (found := Referral.objects.filter(form_key=form_key).first()):
        return found
    for _attempt in range(5):
        try:
            with transaction.atomic():
                referral = _referral_create(
                    details, letter, form_key=form_key, request=request, now=now
                )
            return referral
        except IntegrityError as error:
            # Two submits of one form at once (the other won), or, once in a blue moon, a
            # reference already taken: look for the first; else draw another reference.
            if form_key and (found := Referral.objects.filter(form_key=form_key).first()):
                return found
            if "reference" not in str(error):
                raise
    raise RuntimeError("could not draw a free referral reference")


def _referral_create(
    details: ReferralDetails,
    letter: CleanDocument | None,
    *,
    form_key: str | None,
    request: HttpRequest | None,
    now: dt.datetime,
) -> Referral:
    referral = Referral.objects.create(
        referrer_name=details.referrer_name.strip(),
        referrer_practice=details.referrer_practice.strip(),
        referrer_phone=details.referrer_phone,
        referrer_email=details.referrer_email.strip(),
        patient_first_name=details.patient_first_name.strip(),
        patient_last_name=details.patient_last_name.strip(),
        patient_date_of_birth=details.patient_date_of_birth,
        patient_phone=details.patient_phone,
        patient_email=details.patient_email.strip(),
        reason=details.reason.strip(),
        received_at=now,
        reference=referral_reference_new(),
        form_key=form_key or None,
        confirmation_due_at=now,
    )
    if letter is not None:
        document_store(
            clean=letter,
            kind=DocumentKind.REFERRAL,
            source=DocumentSource.REFERRAL,
            referral_id=referral.pk,
            request=request,
            now=now,
        )
    audit_record(
        action="referral.received",
        request=request,
        obj=referral,
        detail={"letter": letter is not None},
    )
    enqueue_on_commit(SEND_CONFIRMATION_TASK, referral.pk)
    return referral


# --- The confirmation email ----------------------------------------------------------------------


def referral_confirmation_send(*, referral_id: int, now: dt.datetime | None = None) -> bool:
    """Send the referral's confirmation if it is due; True if this call sent it.

    Locks the referral (skip_locked: a row another worker holds is left to it) and re-checks it
    is due, so the task and the sweep never both send. A transient mail error is recorded and
    retried later (confirmation_backoff); after MAX_CONFIRMATION_ATTEMPTS it is given up, audited
    and shown in the queue. Other errors are raised (a bug, not weather).
    """
    now = now or timezone.now()
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(skip_locked=True)
            .filter(pk=referral_id, confirmation_due_at__lte=now)
            .first()
        )
        if referral is None:
            return False
        referral.confirmation_attempts += 1
        fields = ["confirmation_attempts", "confirmation_due_at", "confirmation_error"]
        try:
            send_email(
                name="referral_received",
                to=[referral.referrer_email],
                context={"reference": referral.reference},
            )
        except TRANSIENT_MAIL_ERRORS as error:
            referral.confirmation_error = type(error).__name__[:200]
            if referral.confirmation_attempts >= MAX_CONFIRMATION_ATTEMPTS:
                referral.confirmation_due_at = None
                audit_record(
                    action="referral.confirmation_failed",
                    obj=referral,
                    detail={"error": referral.confirmation_error},
                )
            else:
                referral.confirmation_due_at = now + confirmation_backoff(
                    referral.confirmation_attempts
                )
            referral.save(update_fields=fields)
            logger.warning("referral %s: confirmation failed (%s)", referral.pk, error)
            return False
        referral.confirmation_due_at = None
        referral.confirmation_sent_at = now
        referral.confirmation_error = ""
        referral.save(update_fields=[*fields, "confirmation_sent_at"])
    return True


def referral_confirmations_due(*, now: dt.datetime) -> list[int]:
    return list(
        Referral.objects.filter(confirmation_due_at__lte=now)
        .order_by("confirmation_due_at", "pk")
        .values_list("pk", flat=True)
    )


def referral_confirmations_send(*, now: dt.datetime | None = None) -> int:
    """The sweep: send every due confirmation; how many this call sent."""
    now = now or timezone.now()
    return sum(
        referral_confirmation_send(referral_id=pk, now=now)
        for pk in referral_confirmations_due(now=now)
    )


# --- The queue -----------------------------------------------------------------------------------


def referrals_for_queue(status: str | None = None) -> QuerySet[Referral]:
    """Referrals oldest first, with `letters` (how many documents) annotated: one query.
    `status` None: the open ones (new, contacted); "all": every one."""
    rows = Referral.objects.annotate(
        letters=Count("documents", filter=Q(documents__removed_at__isnull=True))
    ).order_by("received_at", "pk")
    if status == "all":
        return rows
    if status:
        return rows.filter(status=status)
    return rows.filter(status__in=OPEN_STATUSES)


def referrals_new_count() -> int:
    return Referral.objects.filter(status=ReferralStatus.NEW).count()


def referral_documents(referral_id: int) -> list[PatientDocument]:
    return list(
        PatientDocument.objects.filter(referral_id=referral_id, removed_at__isnull=True).order_by(
            "uploaded_at", "pk"
        )
    )


def audit_referrals_viewed(
    request: HttpRequest,
    *,
    page: str,
    referrals: Sequence[Referral],
    clinical: bool = False,
) -> None:
    """One `referral.viewed` row per page shown: the referrals (their patients' contact details)
    on `page`; `clinical` when the page showed the reason and the letters. A page about one
    referral files it under its linked patient, if any."""
    if not referrals:
        return
    single = referrals[0] if len(referrals) == 1 else None
    audit_record(
        action="referral.viewed",
        request=request,
        patient_id=single.patient_id if single is not None else None,
        obj=single,
        detail={
            "page": page,
            "referral_ids": sorted(r.pk for r in referrals),
            "clinical": clinical,
        },
    )


def referral_status_set(
    *,
    referral_id: int,
    status: str,
    note: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Move a referral to `status` (NEXT_STATUSES), appending `note` (dated, signed) to its
    notes. Claims with a conditional update on the status the row was read with, so two staff
    changing it at once cannot both win (the second gets ReferralError "changed"). Audited
    `referral.status_changed` (from, to; not the note's text)."""
    now = now or timezone.now()
    note = note.strip()
    if status in NOTE_REQUIRED and not note:
        raise ReferralError("note_required")
    with transaction.atomic():
        referral = Referral.objects.get(pk=referral_id)
        current = referral.status
        if not status_change_allowed(current, status):
            raise ReferralError("not_allowed")
        user = request.user if request is not None and request.user.is_authenticated else None
        notes = _notes_with(referral.note, note, user=user, now=now)
        claimed = Referral.objects.filter(pk=referral_id, status=current).update(
            status=status, note=notes, handled_by=user, handled_at=now
        )
        if claimed != 1:
            raise ReferralError("changed")
        referral.refresh_from_db()
        audit_record(
            action="referral.status_changed",
            request=request,
            patient_id=referral.patient_id,
            obj=referral,
            detail={"from": current, "to": status, "note": bool(note)},
        )
    return referral


def _notes_with(notes: str, note: str, *, user: object, now: dt.datetime) -> str:
    if not note:
        return notes
    who = user.get_username() if user is not None else "system"  # type: ignore[attr-defined]
    line = f"{timezone.localtime(now):%m/%d/%Y %H:%M} {who}: {note}"
    return f"{notes}\n{line}" if notes else line


def referral_link_patient(
    *,
    referral_id: int,
    patient_id: int,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Tie the referral to an existing patient and give the patient its documents (the letter
    then counts for the patient's requirements). Linking to the same patient again changes
    nothing; to another patient is refused ("linked": unlink is not offered, a wrong link is
    for the admin). Audited `referral.linked` under the patient."""
    now = now or timezone.now()
    with transaction.atomic():
        referral = Referral.objects.select_for_update().get(pk=referral_id)
        patient = Patient.objects.get(pk=patient_id)
        if referral.patient_id == patient.pk:
            return referral
        if referral.patient_id is not None:
            raise ReferralError("linked")
        referral.patient = patient
        user = request.user if request is not None and request.user.is_authenticated else None
        referral.handled_by = user
        referral.handled_at = now
        referral.save(update_fields=["patient", "handled_by", "handled_at"])
        moved = PatientDocument.objects.filter(
            referral_id=referral.pk, patient__isnull=True
        ).update(patient=patient)
        audit_record(
            action="referral.linked",
            request=request,
            patient_id=patient.pk,
            obj=referral,
            detail={"documents": moved},
        )
    return referral


# --- Finding the patient -------------------------------------------------------------------------

SEARCH_RESULTS = 10


def patients_matching(*, last_name: str, date_of_birth: dt.date | None) -> list[Patient]:
    """Patients whose last name contains `last_name` (and born on `date_of_birth` if given): at
    most SEARCH_RESULTS, one query. The front desk's search on a referral's page."""
    condition = Q(last_name__icontains=last_name.strip())
    if date_of_birth is not None:
        condition &= Q(date_of_birth=date_of_birth)
    return list(
        Patient.objects.filter(condition).order_by("last_name", "first_name", "pk")[:SEARCH_RESULTS]
    )


def new_patient_initial(referral: Referral) -> dict[str, object]:
    """What the new-patient page (scheduling:patient_new) starts with for this referral."""
    return {
        "first_name": referral.patient_first_name,
        "last_name": referral.patient_last_name,
        "date_of_birth": referral.patient_date_of_birth,
        "mobile": referral.patient_phone,
        "email": referral.patient_email,
        "heard_about": "",
        "referrer_name": referral.referrer_name,
        "referrer_practice": referral.referrer_practice,
        "referrer_phone": referral.referrer_phone,
        "referral": referral.pk,
    }


def referral_for_new_patient(request: HttpRequest, referral_id: object) -> Referral | None:
    """The open, unlinked referral a new-patient page was opened for (audited as read), or
    None for a missing, linked or malformed id."""
    text = str(referral_id or "")
    if not text.isdigit() or len(text) > 12:
        return None
    referral = Referral.objects.filter(pk=int(text), patient__isnull=True).first()
    if referral is not None:
        audit_referrals_viewed(request, page="scheduling:patient_new", referrals=[referral])
    return referral
