"""Appointments and what hangs off them while they are booked: statuses, infusion courses, slot
holds and the status history."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from intake.models import Patient
from scheduling.models.clinic import AppointmentType, Clinician, Room
from scheduling.models.spans import SpanOverlaps


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    # The infusion (or the visit) has started: only the lifecycle's START gate leads here.
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")
    # Turned away on the day (alcohol or drugs before the visit, blood pressure, lapsed clearance).
    DEFERRED = "deferred", _("Deferred")


def status_word(status: str) -> str:
    """An appointment status as a word inside a sentence ("checked in", "no-show"), in the
    active language: the one wording for refusals, messages and the lifecycle's explanations."""
    return str(AppointmentStatus(status).label).lower()


# Appointments in these states hold their room, clinician and patient. The exclusion constraints
# in migration 0002 repeat this list in SQL; a test keeps the two in step.
ACTIVE_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
)


# Appointments whose visit is not over yet (still to happen, or under way).
OPEN_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_PROGRESS,
)
# The visit was called off before it happened (cancelled, or deferred on the day): the patient is
# told (scheduling.notices) and their calendar entry is withdrawn (scheduling.ics).
CALLED_OFF_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.DEFERRED)
# The patient came: the visit started or happened.
ATTENDED_STATUSES = (
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
)


class BookedVia(models.TextChoices):
    STAFF = "staff", _("Staff")
    ONLINE = "online", _("Online")


class CourseStatus(models.TextChoices):
    """A course ended before its planned sessions were done is CANCELLED when none of its
    sessions was completed (it never really started) and ENDED_EARLY when at least one was: both
    record why, by whom and when (scheduling.courses.services.course_end)."""

    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    ENDED_EARLY = "ended_early", _("Ended early")


class CourseEndReason(models.TextChoices):
    """Why a course stopped before its planned sessions were done (issue 20's dropout reasons)."""

    PATIENT_CHOICE = "patient_choice", _("Patient's choice")
    SIDE_EFFECTS = "side_effects", _("Side effects")
    CLINICAL_DECISION = "clinical_decision", _("Clinical decision")
    COST = "cost", _("Cost")
    MOVED_AWAY = "moved_away", _("Moved away")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    OTHER = "other", _("Other")


class InfusionCourse(models.Model):
    """A planned course of infusions (often 4-8 over 4-8 weeks), booked all at once by
    scheduling.courses.services; its sessions are the appointments pointing at it. Maintenance
    infusions after a completed course point at it too."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    planned_sessions = models.PositiveSmallIntegerField()
    span_weeks = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=16, choices=CourseStatus.choices, default=CourseStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set together when a course is ended before its planned sessions are done (blank otherwise).
    end_reason = models.CharField(max_length=32, choices=CourseEndReason.choices, blank=True)
    end_note = models.TextField(blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A course ended early always says why and when (course_end writes them together).
            models.CheckConstraint(
                condition=~models.Q(status="ended_early")
                | (~models.Q(end_reason="") & models.Q(ended_at__isnull=False)),
                name="course_ended_early_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"course of {self.planned_sessions} for patient {self.patient_id}"


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> AppointmentQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def with_type(self) -> AppointmentQuerySet:
        """Each appointment with its type loaded (in the same query)."""
        return self.select_related("appointment_type")

    def locked(self, pk: int) -> Appointment | None:
        """The appointment row locked for this transaction (FOR UPDATE of its own row only), with
        its type loaded; None when it does not exist."""
        return self.select_for_update(of=("self",)).with_type().filter(pk=pk).first()

    def overlapping(self, start: datetime.datetime, end: datetime.datetime) -> AppointmentQuerySet:
        """Half-open overlap: an appointment ending at `start` does not overlap. Reads only the
        rows overlapping the window, whatever the history (scheduling.models.spans)."""
        return self.filter(SpanOverlaps(start, end))


class Appointment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField(_("starts"))
    end = models.DateTimeField(_("ends"))
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.BOOKED,
    )
    booked_via = models.CharField(max_length=8, choices=BookedVia.choices, default=BookedVia.STAFF)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    course = models.ForeignKey(
        InfusionCourse, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    # A client-supplied key: the same online booking submitted twice makes one appointment.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # Bumped whenever the time or place changes, for calendar files (iCalendar SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["start"], name="appointment_start"),
            models.Index(fields=["room", "start"], name="appointment_room_start"),
            models.Index(fields=["clinician", "start"], name="appointment_clinician_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="appointment_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class SlotHoldQuerySet(models.QuerySet["SlotHold"]):
    def live(self, now: datetime.datetime) -> SlotHoldQuerySet:
        return self.filter(expires_at__gt=now)

    def overlapping(self, start: datetime.datetime, end: datetime.datetime) -> SlotHoldQuerySet:
        """Half-open overlap, as for appointments."""
        return self.filter(SpanOverlaps(start, end))


class SlotHold(models.Model):
    """A few minutes' claim on a room and clinician while a patient fills in the booking form.

    Live holds count as busy for everyone but their holder (scheduling.slots, scheduling.booking);
    an expired hold is simply ignored.
    """

    key = models.CharField(max_length=64, unique=True)
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE)
    start = models.DateTimeField()
    end = models.DateTimeField()
    room = models.ForeignKey(Room, on_delete=models.CASCADE)
    clinician = models.ForeignKey(Clinician, null=True, blank=True, on_delete=models.CASCADE)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SlotHoldQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="slot_hold_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return f"hold {self.start:%Y-%m-%d %H:%M} until {self.expires_at:%H:%M}"


class AppointmentStatusChange(models.Model):
    """Append-only history of an appointment's status, written by the scheduling services."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=AppointmentStatus.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
