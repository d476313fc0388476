"""Waitlist services: ask for an earlier time, offer a freed slot to the waiting patients it
suits (first asked, first offered), accept an offer, and expire offers no one took.

A freed slot (a visit cancelled, deferred or moved: scheduling.waitlist.hooks) is held with the
normal slot hold (scheduling.holds) for WAITLIST_OFFER_HOURS and offered to the first
WAITLIST_OFFER_AT_ONCE matching entries. Accepting books through scheduling.booking (a new visit
with the hold's key, or a move of the visit the patient wanted earlier): there is no second
booking path. The offer row is locked while accepting, so of two patients accepting at once
exactly one books; the others are told it went. Every message is an outbox row written in the
same transaction (scheduling.reminder_plan.patient_message_plan)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from intake.clearance import has_valid_clearance
from intake.models import Patient
from scheduling.booking import appointment_book, appointment_move
from scheduling.errors import SchedulingError
from scheduling.holds import slot_hold_create
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookedVia,
    EntryState,
    InviteState,
    OfferState,
    PartOfDay,
    ReminderChannel,
    ReminderKind,
    SlotHold,
    WaitlistEntry,
    WaitlistInvite,
    WaitlistOffer,
)
from scheduling.reminder_plan import after_quiet_hours, patient_message_plan, reminder_times
from scheduling.slots import clinic_tz

NOON = 12


class WaitlistError(Exception):
    """An offer that can no longer be accepted: `code` is "gone" (someone else took it),
    "expired" or "refused" (the booking service refused it; `message` says why)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message


def entry_add(
    *,
    patient_id: int,
    appointment_type: AppointmentType,
    appointment: Appointment | None = None,
    clinician_id: int | None = None,
    weekdays: str = "",
    part_of_day: str = PartOfDay.ANY,
    earliest_date: dt.date | None = None,
    latest_date: dt.date | None = None,
    via: str = BookedVia.ONLINE,
) -> WaitlistEntry:
    """Put the patient on the waitlist, last in line."""
    with transaction.atomic():
        last = WaitlistEntry.objects.aggregate(last=Max("position"))["last"] or 0
        return WaitlistEntry.objects.create(
            patient_id=patient_id,
            appointment_type=appointment_type,
            appointment=appointment,
            clinician_id=clinician_id,
            weekdays="".join(sorted(set(weekdays))),
            part_of_day=part_of_day,
            earliest_date=earliest_date,
            latest_date=latest_date,
            via=via,
            position=last + 1,
        )


def entry_update(entry_id: int, **wishes: Any) -> None:
    """Change a waiting entry's wishes (the front desk, on the caller's word)."""
    if "weekdays" in wishes:
        wishes["weekdays"] = "".join(sorted(set(wishes["weekdays"])))
    WaitlistEntry.objects.filter(pk=entry_id, state=EntryState.WAITING).update(**wishes)


def entry_remove(entry_id: int) -> None:
    WaitlistEntry.objects.filter(pk=entry_id, state=EntryState.WAITING).update(
        state=EntryState.REMOVED
    )


def entry_shift(entry_id: int, *, up: bool) -> None:
    """Swap a waiting entry with its neighbour above (`up`) or below in the order."""
    with transaction.atomic():
        rows = list(
            WaitlistEntry.objects.select_for_update()
            .filter(state=EntryState.WAITING)
            .order_by("position", "created_at", "pk")
        )
        ids = [row.pk for row in rows]
        if entry_id not in ids:
            return
        index = ids.index(entry_id)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(rows):
            return
        rows[index], rows[other] = rows[other], rows[index]
        for position, row in enumerate(rows, start=1):
            if row.position != position:
                row.position = position
                row.save(update_fields=["position"])


def suits(entry: WaitlistEntry, *, start: dt.datetime, clinician_id: int | None) -> bool:
    """Whether a slot at `start` (with `clinician_id`) matches the entry's preferences."""
    local = start.astimezone(clinic_tz())
    if entry.clinician_id and entry.clinician_id != clinician_id:
        return False
    if entry.weekdays and str(local.isoweekday()) not in entry.weekdays:
        return False
    if entry.part_of_day == PartOfDay.MORNING and local.hour >= NOON:
        return False
    if entry.part_of_day == PartOfDay.AFTERNOON and local.hour < NOON:
        return False
    if entry.earliest_date and local.date() < entry.earliest_date:
        return False
    if entry.latest_date and local.date() > entry.latest_date:
        return False
    if entry.appointment is not None and entry.appointment.start <= start:
        return False
    return not entry.appointment_type.needs_clearance or has_valid_clearance(
        entry.patient_id, start
    )


def _candidates(
    appointment_type_id: int, *, start: dt.datetime, clinician_id: int | None, count: int
) -> list[WaitlistEntry]:
    """The first `count` waiting entries the slot suits, in order, not yet invited to this
    slot and with no open invitation elsewhere."""
    invited_here = WaitlistInvite.objects.filter(
        offer__appointment_type_id=appointment_type_id, offer__start=start
    ).values("entry_id")
    busy = WaitlistInvite.objects.filter(
        state=InviteState.SENT, offer__state=OfferState.OPEN
    ).values("entry_id")
    entries = (
        WaitlistEntry.objects.filter(
            appointment_type_id=appointment_type_id, state=EntryState.WAITING
        )
        .exclude(pk__in=invited_here)
        .exclude(pk__in=busy)
        .select_related("appointment_type", "appointment", "patient")
        .order_by("position", "created_at", "pk")
    )
    chosen: list[WaitlistEntry] = []
    for entry in entries:
        if suits(entry, start=start, clinician_id=clinician_id):
            chosen.append(entry)
            if len(chosen) == count:
                break
    return chosen


def _tell(
    patient: Patient, kind: str, *, now: dt.datetime, until: dt.datetime | None = None
) -> None:
    """Plan the message to the patient: an email, and a text too when they agreed to texts and
    have a mobile. A text waits for the end of the quiet hours: one that would then arrive after
    `until` (an offer's hold) is not planned, since the time would be gone by then."""
    patient_message_plan(patient_id=patient.pk, kind=kind, now=now)
    if not (patient.consent_sms and patient.mobile):
        return
    times = reminder_times()
    due = after_quiet_hours(
        now, tz=clinic_tz(), start_hour=times.quiet_start_hour, end_hour=times.quiet_end_hour
    )
    if until is None or due < until:
        patient_message_plan(patient_id=patient.pk, kind=kind, now=now, channel=ReminderChannel.SMS)


def slot_freed(
    *,
    appointment_type_id: int,
    start: dt.datetime,
    room_id: int | None,
    clinician_id: int | None,
    now: dt.datetime | None = None,
) -> WaitlistOffer | None:
    """Offer a freed slot to the first matching waiting patients, holding it for them; None
    when the slot is past, nobody matches or the time is no longer free."""
    now = now or timezone.now()
    if start <= now:
        return None
    entries = _candidates(
        appointment_type_id,
        start=start,
        clinician_id=clinician_id,
        count=settings.WAITLIST_OFFER_AT_ONCE,
    )
    if not entries:
        return None
    expires_at = now + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS)
    minutes = settings.WAITLIST_OFFER_HOURS * 60
    try:
        hold = slot_hold_create(
            appointment_type_id=appointment_type_id,
            start=start,
            minutes=minutes,
            now=now,
            room_id=room_id,
            clinician_id=clinician_id,
            self_booked=False,
        )
    except SchedulingError:
        return None
    with transaction.atomic():
        offer = WaitlistOffer.objects.create(
            appointment_type_id=appointment_type_id,
            start=hold.start,
            end=hold.end,
            room=hold.room,
            clinician=hold.clinician,
            hold_key=hold.key,
            expires_at=expires_at,
        )
        for entry in entries:
            WaitlistInvite.objects.create(offer=offer, entry=entry)
            _tell(entry.patient, ReminderKind.WAITLIST_OFFER, now=now, until=expires_at)
    return offer


def _tell_the_others(offer: WaitlistOffer, *, now: dt.datetime) -> None:
    others = list(offer.invites.filter(state=InviteState.SENT).select_related("entry__patient"))
    WaitlistInvite.objects.filter(pk__in=[invite.pk for invite in others]).update(
        state=InviteState.GONE
    )
    for invite in others:
        _tell(invite.entry.patient, ReminderKind.WAITLIST_GONE, now=now)


def offer_accept(
    *, invite_id: int, patient: Patient, request: Any = None, now: dt.datetime | None = None
) -> Appointment:
    """Book the offered slot for the patient of this invitation, or raise WaitlistError.

    The offer row is locked first: of two patients accepting at once the second waits, then
    finds it taken ("gone"). Accepting twice returns the same appointment."""
    now = now or timezone.now()
    with transaction.atomic():
        invite = (
            WaitlistInvite.objects.select_related("entry")
            .filter(pk=invite_id, entry__patient=patient)
            .first()
        )
        if invite is None:
            raise WaitlistError("gone")
        offer = WaitlistOffer.objects.select_for_update().get(pk=invite.offer_id)
        invite.refresh_from_db()
        if invite.state == InviteState.ACCEPTED and offer.appointment is not None:
            return offer.appointment
        left = invite.entry.state == EntryState.REMOVED
        if offer.state == OfferState.TAKEN or invite.state == InviteState.GONE or left:
            raise WaitlistError("gone")
        if not offer.is_open(now):
            raise WaitlistError("expired")
        try:
            appointment = _book(offer, invite.entry, request=request, now=now)
        except SchedulingError as error:
            raise WaitlistError("refused", str(error)) from error
        offer.state = OfferState.TAKEN
        offer.appointment = appointment
        offer.save(update_fields=["state", "appointment"])
        invite.state = InviteState.ACCEPTED
        invite.save(update_fields=["state"])
        WaitlistEntry.objects.filter(pk=invite.entry_id).update(state=EntryState.BOOKED)
        _tell_the_others(offer, now=now)
    return appointment


def _book(
    offer: WaitlistOffer, entry: WaitlistEntry, *, request: Any, now: dt.datetime
) -> Appointment:
    """Through the booking service: move the visit the patient wanted earlier (the hold is
    released in the same transaction, so nobody else sees the time free), else book anew with
    the hold's key (its room and clinician)."""
    booked = entry.appointment
    if booked is not None and booked.status == AppointmentStatus.BOOKED:
        SlotHold.objects.filter(key=offer.hold_key).delete()
        with transaction.atomic():
            # The patient's own move (the lifecycle lets a patient move a treatment visit when
            # cleared on the new date), with every rule of a move: spacing, hours, overlaps.
            return appointment_move(
                appointment_id=booked.pk,
                new_start=offer.start,
                as_patient=True,
                room_id=offer.room_id,
                clinician_id=offer.clinician_id,
                request=request,
                now=now,
            )
    with transaction.atomic():
        return appointment_book(
            patient_id=entry.patient_id,
            appointment_type_id=offer.appointment_type_id,
            start=offer.start,
            room_id=offer.room_id,
            clinician_id=offer.clinician_id,
            via=BookedVia.ONLINE if offer.appointment_type.self_bookable else BookedVia.STAFF,
            request=request,
            now=now,
            hold_key=offer.hold_key,
            idempotency_key=f"waitlist-offer-{offer.pk}",
        )


def offers_expire(*, now: dt.datetime | None = None) -> list[int]:
    """Close every open offer past its time, exactly once (rows claimed with skip_locked),
    release its hold and offer the slot to the next patients in line. Returns the expired
    offers' ids."""
    now = now or timezone.now()
    with transaction.atomic():
        offers = list(
            WaitlistOffer.objects.select_for_update(skip_locked=True).filter(
                state=OfferState.OPEN, expires_at__lte=now
            )
        )
        for offer in offers:
            offer.state = OfferState.EXPIRED
            offer.save(update_fields=["state"])
            lapsed = list(
                offer.invites.filter(state=InviteState.SENT).select_related("entry__patient")
            )
            WaitlistInvite.objects.filter(pk__in=[invite.pk for invite in lapsed]).update(
                state=InviteState.EXPIRED
            )
            # Told in the same transaction: their offer lapsed, and they are still waiting (an
            # entry someone removed meanwhile is not "still on the list": no message).
            for invite in lapsed:
                if invite.entry.state == EntryState.WAITING:
                    _tell(invite.entry.patient, ReminderKind.WAITLIST_LAPSED, now=now)
            SlotHold.objects.filter(key=offer.hold_key).delete()
    for offer in offers:
        slot_freed(
            appointment_type_id=offer.appointment_type_id,
            start=offer.start,
            room_id=offer.room_id,
            clinician_id=offer.clinician_id,
            now=now,
        )
    return [offer.pk for offer in offers]
