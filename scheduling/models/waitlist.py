"""The waitlist: patients who asked for an earlier time (scheduling.waitlist.services), the slots
offered to them when a visit is cancelled, moved or deferred, and each patient's invitation to
one offered slot."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from intake.models import Patient
from scheduling.models.appointments import Appointment
from scheduling.models.clinic import AppointmentType, Clinician, Room


class PartOfDay(models.TextChoices):
    ANY = "any", _("Any time")
    MORNING = "morning", _("Mornings (before noon)")
    AFTERNOON = "afternoon", _("Afternoons (from noon)")


class EntryState(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked from an offer")
    REMOVED = "removed", _("Removed")


class WaitlistEntry(models.Model):
    """One patient's wish for an earlier visit of one type, with their preferences. Offers go
    to waiting entries by `position` (first asked, first offered; the front desk may reorder)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT)
    # The booked visit the patient wants earlier: accepting an offer moves it (else books anew).
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clinician = models.ForeignKey(Clinician, null=True, blank=True, on_delete=models.SET_NULL)
    # ISO weekday numbers (1 Monday .. 7 Sunday) the patient can come, e.g. "135"; blank: any.
    weekdays = models.CharField(max_length=7, blank=True)
    part_of_day = models.CharField(max_length=12, choices=PartOfDay.choices, default=PartOfDay.ANY)
    earliest_date = models.DateField(null=True, blank=True)
    latest_date = models.DateField(null=True, blank=True)
    via = models.CharField(max_length=12, default="online")
    state = models.CharField(max_length=12, choices=EntryState.choices, default=EntryState.WAITING)
    position = models.PositiveIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "created_at", "pk"]

    def __str__(self) -> str:
        return f"waitlist entry {self.pk} ({self.state})"


class OfferState(models.TextChoices):
    OPEN = "open", _("Open")
    TAKEN = "taken", _("Taken")
    EXPIRED = "expired", _("Expired")


class WaitlistOffer(models.Model):
    """A freed slot held (SlotHold `hold_key`) for the patients invited to it until
    `expires_at`; the first to accept books it."""

    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE)
    start = models.DateTimeField()
    end = models.DateTimeField()
    room = models.ForeignKey(Room, on_delete=models.CASCADE)
    clinician = models.ForeignKey(Clinician, null=True, blank=True, on_delete=models.CASCADE)
    hold_key = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=12, choices=OfferState.choices, default=OfferState.OPEN)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start"]

    def __str__(self) -> str:
        return f"waitlist offer {self.pk} ({self.state})"

    def is_open(self, now: dt.datetime) -> bool:
        return self.state == OfferState.OPEN and self.expires_at > now


class InviteState(models.TextChoices):
    SENT = "sent", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    GONE = "gone", _("Taken by someone else")
    EXPIRED = "expired", _("Expired")


class WaitlistInvite(models.Model):
    offer = models.ForeignKey(WaitlistOffer, on_delete=models.CASCADE, related_name="invites")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="invites")
    state = models.CharField(max_length=12, choices=InviteState.choices, default=InviteState.SENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "entry"], name="waitlist_invite_once")
        ]

    def __str__(self) -> str:
        return f"waitlist invite {self.pk} ({self.state})"


class FreedSlot(models.Model):
    """A visit's time freed (cancelled, deferred, moved), written in the transaction that freed
    it: the outbox of the waitlist. A worker offers it once (`processed_at` set in the same
    transaction as the offer); the on-commit task only speeds that up, and the beat sweep
    (scheduling.waitlist.tasks.freed_slots_sweep) offers the ones a broker outage held up."""

    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE)
    start = models.DateTimeField()
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE)
    clinician = models.ForeignKey(Clinician, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(processed_at__isnull=True),
                name="freed_slot_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"freed slot {self.pk}"
