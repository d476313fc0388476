"""Reminders: one message to send for one appointment through one channel."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from scheduling.models.appointments import Appointment


class ReminderKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("Booking confirmation")
    CONSULTATION_24H = "consultation_24h", _("Consultation tomorrow")
    INTAKE_NUDGE_48H = "intake_nudge_48h", _("Questionnaire not finished")
    INFUSION_PREP_48H = "infusion_prep_48h", _("Visit in two days: preparation")
    CHECK_IN_LINK = "check_in_link", _("Pre-visit check-in link")
    INFUSION_2H = "infusion_2h", _("Visit in two hours")
    FOLLOW_UP_NEXT_DAY = "follow_up_next_day", _("Next-day follow-up")
    # Notices of a change the patient made online: sent once through this outbox like every
    # reminder, so a change made while the broker is down is still announced
    # (scheduling.online.services).
    RESCHEDULED_NOTICE = "rescheduled_notice", _("Appointment moved")
    CANCELLED_NOTICE = "cancelled_notice", _("Appointment cancelled")


class ReminderChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class ReminderState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    SKIPPED = "skipped", _("Skipped")


class Reminder(models.Model):
    """One message to send for one appointment through one channel, planned in the booking's
    transaction (scheduling.reminder_plan) and claimed by the dispatch sweep when due."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=32, choices=ReminderKind.choices)
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=12, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "channel"], name="reminder_once_per_kind_channel"
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="reminder_due")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} for appointment {self.appointment_id}"
