"""How a patient may be contacted: email reminders and text-message reminders, each given or
withdrawn with its time and source. `consent_set` is the one door: the booking form, the
patient's page, the one-click link in every email, a STOP reply and staff all call it.

The rules (design notes; issue 17):
- Email reminders are part of treatment operations (HIPAA lets a provider remind its patients of
  their appointments without an authorisation): on for every new patient (Patient.consent_email
  defaults on), with a one-click opt-out in every email (intake.opt_out) and on the patient's page.
- Texts need the patient's express consent (TCPA): a box left unticked until the patient ticks it,
  at booking and on their page; STOP withdraws it (scheduling.reminders.sms_webhook) and START does
  not give it back.
- Opting out of email reminders never stops the emails a patient needs to act on: the
  confirmation of a booking, the notice of a change, a link they asked for, the care team's request
  (scheduling.reminders.dispatch.TRANSACTIONAL_KINDS).

Every change writes the Patient row (the value and when it was set), an append-only ConsentEvent
(channel, given, source, time, staff member) and an audit event, in one transaction, and tells
scheduling (a listener registered at start-up: intake never imports scheduling) so the pending
reminders of the patient's upcoming appointments follow in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from intake.models import ConsentChannel, ConsentEvent, ConsentSource, Patient
from propel.audit import audit_record

# Called with (patient_id, now) inside the transaction of a change of consent.
ConsentListener = Callable[[int, dt.datetime], object]

_listener: ConsentListener | None = None

FIELDS = {
    ConsentChannel.EMAIL: ("consent_email", "consent_email_at"),
    ConsentChannel.SMS: ("consent_sms", "consent_sms_at"),
}


def set_consent_listener(listener: ConsentListener | None) -> ConsentListener | None:
    """Register what follows a change of consent (scheduling's re-plan); returns the previous one
    (so a test can restore it)."""
    global _listener
    previous = _listener
    _listener = listener
    return previous


def consent_set(
    *,
    patient_id: int,
    channel: str,
    given: bool,
    source: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """Record that the patient gave (`given`) or withdrew consent to `channel` ("email"/"sms"),
    said through `source` (a ConsentSource); returns whether anything was recorded.

    Locks the patient row. A statement that repeats the current value is recorded only when the
    channel has no event yet (the first word at booking is kept even when it matches the default);
    otherwise it changes nothing (a second click on an opt-out link). Giving SMS consent without a
    mobile on file raises ValueError: forms check that first. The staff member, if any, comes from
    `request`. A change of value re-plans the patient's upcoming reminders (the listener).
    """
    channel = ConsentChannel(channel)
    source = ConsentSource(source)
    now = now or timezone.now()
    value_field, at_field = FIELDS[channel]
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        if given and channel == ConsentChannel.SMS and not patient.mobile:
            raise ValueError("text messages need a mobile number on file")
        changed = getattr(patient, value_field) != given
        if not changed and patient.consent_events.filter(channel=channel).exists():
            return False
        setattr(patient, value_field, given)
        setattr(patient, at_field, now)
        patient.save(update_fields=[value_field, at_field, "updated_at"])
        user = request.user if request is not None and request.user.is_authenticated else None
        ConsentEvent.objects.create(
            patient=patient, channel=channel, given=given, source=source, at=now, by=user
        )
        audit_record(
            action=f"patient.{channel.value}_opt_{'in' if given else 'out'}",
            request=request,
            patient_id=patient.pk,
            obj=patient,
            detail={"source": source.value},
        )
        if changed and _listener is not None:
            _listener(patient.pk, now)
    return True


def consents_first_recorded(
    *,
    patient_id: int,
    email: bool,
    sms: bool,
    source: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> None:
    """What a new patient said when first asked (an online booking, a call to the front desk):
    email as answered, texts only when given (never a withdrawal the patient did not make)."""
    consent_set(
        patient_id=patient_id,
        channel=ConsentChannel.EMAIL,
        given=email,
        source=source,
        now=now,
        request=request,
    )
    if sms:
        consent_set(
            patient_id=patient_id,
            channel=ConsentChannel.SMS,
            given=True,
            source=source,
            now=now,
            request=request,
        )


def consent_preferences_set(
    *,
    patient_id: int,
    email: bool,
    sms: bool,
    source: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> list[str]:
    """Both channels at once, as a page with two boxes says them (the patient's page, staff): each
    channel whose value differs from the one on file goes through consent_set, in one
    transaction. Returns the channels changed."""
    now = now or timezone.now()
    wanted = {ConsentChannel.EMAIL: email, ConsentChannel.SMS: sms}
    changed = []
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        for channel, given in wanted.items():
            if getattr(patient, FIELDS[channel][0]) == given:
                continue
            consent_set(
                patient_id=patient_id,
                channel=channel,
                given=given,
                source=source,
                now=now,
                request=request,
            )
            changed.append(channel.value)
    return changed


def consent_backfill(*, patient_model: Any, event_model: Any, now: dt.datetime) -> int:
    """Turn email reminders on for every patient with an email address who never said no: off,
    with no time recorded (the old unticked default) and no recorded withdrawal. Each gets the time
    and a BACKFILL event. Returns how many. Takes the models so a data migration can pass its
    historical ones (intake migration 0006); idempotent."""
    withdrawn = event_model.objects.filter(channel=ConsentChannel.EMAIL, given=False).values(
        "patient_id"
    )
    ids = list(
        patient_model.objects.filter(consent_email=False, consent_email_at__isnull=True)
        .exclude(email="")
        .exclude(pk__in=withdrawn)
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    patient_model.objects.filter(pk__in=ids).update(consent_email=True, consent_email_at=now)
    event_model.objects.bulk_create(
        event_model(
            patient_id=pk,
            channel=ConsentChannel.EMAIL,
            given=True,
            source=ConsentSource.BACKFILL,
            at=now,
        )
        for pk in ids
    )
    return len(ids)
