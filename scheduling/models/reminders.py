"""Reminders, the outbox of every message to a patient: one message through one channel, about an
appointment (reminders, the confirmation, notices), a patient (a fresh link, a request for more
information) or an online booking request (its confirmation link)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from intake.models import Patient
from scheduling.models.appointments import Appointment
from scheduling.models.booking_requests import BookingRequest


class ReminderKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("Booking confirmation")
    CONSULTATION_24H = "consultation_24h", _("Consultation tomorrow")
    INTAKE_NUDGE_48H = "intake_nudge_48h", _("Questionnaire not finished")
    INFUSION_PREP_48H = "infusion_prep_48h", _("Visit in two days: preparation")
    CHECK_IN_LINK = "check_in_link", _("Pre-visit check-in link")
    INFUSION_2H = "infusion_2h", _("Visit in two hours")
    FOLLOW_UP_NEXT_DAY = "follow_up_next_day", _("Next-day follow-up")
    # Forms to sign or documents to send before the visit (intake.requirements), sent only when
    # something is still missing when it is due.
    PAPERWORK_72H = "paperwork_72h", _("Forms or documents still needed")
    # Notices of a change the patient made online: sent once through this outbox like every
    # reminder, so a change made while the broker is down is still announced
    # (scheduling.online.services).
    RESCHEDULED_NOTICE = "rescheduled_notice", _("Appointment moved")
    CANCELLED_NOTICE = "cancelled_notice", _("Appointment cancelled")
    # Transactional emails about a patient or a booking request (no appointment): written in the
    # transaction of the request that promises them, their link made fresh at send time.
    PATIENT_LINK = "patient_link", _("New link to the patient's page")
    INFORMATION_REQUEST = "information_request", _("Care team needs more information")
    # The questionnaire link the front desk sends a caller it registered (by email or text).
    QUESTIONNAIRE_LINK = "questionnaire_link", _("Questionnaire link for a new patient")
    BOOKING_REQUEST = "booking_request", _("Confirm an online booking")
    # The waitlist (scheduling.waitlist): an earlier time held for the patient, and the news
    # that it went to someone else.
    WAITLIST_OFFER = "waitlist_offer", _("An earlier time is free")
    WAITLIST_GONE = "waitlist_gone", _("The earlier time was taken")
    # An offer nobody accepted in time: the patient is told it lapsed and they are still waiting.
    WAITLIST_LAPSED = "waitlist_lapsed", _("The earlier time offered has lapsed")
    # A consent form the patient signed on their link: its PDF is on their forms page.
    SIGNED_COPY = "signed_copy", _("Signed form ready to download")


class NoticeReason(models.TextChoices):
    """Why the clinic moved or cancelled a visit, in words the patient may read in a message
    (never a health detail: staff pick one, they never type it). Blank: no reason given."""

    CLOSURE = "closure", _("the clinic is closed that day")
    CLINICIAN_UNAVAILABLE = "clinician_unavailable", _("your clinician is not available then")
    ROOM_UNAVAILABLE = "room_unavailable", _("the treatment room is not available then")
    SCHEDULE_CHANGE = "schedule_change", _("we had to change our schedule")
    PATIENT_REQUEST = "patient_request", _("you asked us to")


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
    """One message to send through one channel, written in the transaction of the change that
    promises it (scheduling.reminder_plan) and claimed by the dispatch sweep when due. Its subject
    is an appointment, a patient, or an online booking request (at least one). No secret is
    stored: links are signed when the message is sent."""

    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    booking_request = models.ForeignKey(
        BookingRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(max_length=32, choices=ReminderKind.choices)
    # A notice reports one change of its appointment: the appointment's sequence after that change
    # (0 for every other message), so each change has its own notice and a repeat of the same
    # change none.
    sequence = models.PositiveIntegerField(default=0)
    # A notice of a move that kept the appointment (a staff move): where it was before.
    previous_start = models.DateTimeField(null=True, blank=True)
    # Why the clinic made the change, when it chose to say (staff changes only).
    reason = models.CharField(max_length=32, choices=NoticeReason.choices, blank=True)
    # Messages written by one action for one patient (a course booked, a day closed): sent as one
    # message listing them all, per channel.
    batch = models.UUIDField(null=True, blank=True, db_index=True)
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
                fields=["appointment", "kind", "channel", "sequence"],
                condition=models.Q(appointment__isnull=False),
                name="reminder_once_per_kind_channel_change",
            ),
            models.CheckConstraint(
                condition=models.Q(appointment__isnull=False)
                | models.Q(patient__isnull=False)
                | models.Q(booking_request__isnull=False),
                name="reminder_has_subject",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="reminder_due")]

    def __str__(self) -> str:
        if self.appointment_id is not None:
            return f"{self.kind} by {self.channel} for appointment {self.appointment_id}"
        if self.patient_id is not None:
            return f"{self.kind} by {self.channel} for patient {self.patient_id}"
        return f"{self.kind} by {self.channel} for booking request {self.booking_request_id}"
