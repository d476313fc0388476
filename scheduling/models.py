from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from intake.models import Patient
from propel.append_only import AppendOnlyModel


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class RoomKind(models.TextChoices):
    CONSULT = "consult", _("Consult room")
    INFUSION = "infusion", _("Infusion room")


def _opens_before_closes(prefix: str, start: str, end: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{start}__lt": models.F(end)}), name=f"{prefix}_start_before_end"
    )


class Room(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=RoomKind.choices)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Clinician(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clinician",
    )
    display_name = models.CharField(_("name shown"), max_length=120)
    active = models.BooleanField(_("in practice"), default=True)
    # Bumped to revoke every calendar-feed link handed out for this clinician.
    feed_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class WorkingHours(models.Model):
    """A clinician's weekly hours; availability keeps them inside the clinic's opening hours."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))

    class Meta:
        ordering = ["clinician", "weekday", "starts"]
        constraints = [_opens_before_closes("working_hours", "starts", "ends")]
        verbose_name_plural = _("working hours")

    def __str__(self) -> str:
        return (
            f"{self.clinician} {self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"
        )


class AppointmentType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    duration_minutes = models.PositiveSmallIntegerField(_("length in minutes"))
    room_kind = models.CharField(_("room needed"), max_length=16, choices=RoomKind.choices)
    needs_clinician = models.BooleanField(_("needs a clinician"), default=True)
    self_bookable = models.BooleanField(_("patients may book online"), default=False)
    needs_clearance = models.BooleanField(_("needs a clinician's clearance"), default=False)
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="appointment_type_sane_duration",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.duration_minutes)


class OpeningHours(models.Model):
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [_opens_before_closes("opening_hours", "opens", "closes")]
        verbose_name_plural = _("opening hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Closure(models.Model):
    """Whole days the clinic is closed (holidays, training days), inclusive of both ends."""

    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=120)

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__lte=models.F("end_date")),
                name="closure_start_not_after_end",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.start_date:%Y-%m-%d})"


class ExtraOpening(models.Model):
    """Hours outside the weekly pattern (an open Saturday). Only staff may book into them."""

    date = models.DateField(_("date"))
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        ordering = ["date", "opens"]
        constraints = [_opens_before_closes("extra_opening", "opens", "closes")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.opens:%H:%M}-{self.closes:%H:%M}"


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
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


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

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"course of {self.planned_sessions} for patient {self.patient_id}"


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> AppointmentQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def locked(self, pk: int) -> Appointment | None:
        """The appointment row locked for this transaction (FOR UPDATE of its own row only), with
        its type loaded; None when it does not exist."""
        return (
            self.select_for_update(of=("self",)).select_related("appointment_type").filter(pk=pk)
        ).first()

    def overlapping(self, start: datetime.datetime, end: datetime.datetime) -> AppointmentQuerySet:
        """Half-open overlap: an appointment ending at `start` does not overlap."""
        return self.filter(start__lt=end, end__gt=start)


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


class PreInfusionCheckIn(models.Model):
    """The short questionnaire a patient answers before one infusion (an intake check-in round)."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="check_in"
    )
    submission = models.OneToOneField(
        "intake.IntakeSubmission", on_delete=models.PROTECT, related_name="pre_infusion"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"check-in for appointment {self.appointment_id}"


class GateOutcome(models.TextChoices):
    """What the pre-infusion vital signs decide (reference §2.4; scheduling.vitals)."""

    PROCEED = "proceed", _("Proceed")
    PROCEED_WITH_NOTE = "proceed_note", _("Proceed, noted in the record")
    SIGN_OFF = "sign_off", _("Needs clinician sign-off before starting")
    DEFER = "defer", _("Defer today")
    EMERGENCY = "emergency", _("Emergency pathway")


class Visit(models.Model):
    """The day of one appointment: arrival, check-in answers, the vital-signs gate, the infusion
    timeline and discharge. No dosing or medication administration (that stays in the EHR)."""

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="visit")
    identity_confirmed_at = models.DateTimeField(null=True, blank=True)
    identity_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escort_name = models.CharField(max_length=200, blank=True)
    escort_phone = PhoneNumberField(blank=True)
    escort_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Day-of questions (reference A13 and §8), None until answered.
    alcohol_or_drugs = models.BooleanField(null=True, blank=True)
    food_as_instructed = models.BooleanField(null=True, blank=True)
    new_medicines = models.BooleanField(null=True, blank=True)
    new_medicines_detail = models.CharField(max_length=500, blank=True)
    gate_outcome = models.CharField(max_length=16, choices=GateOutcome.choices, blank=True)
    gate_note = models.TextField(blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    discharge_alert = models.BooleanField(default=False)
    discharge_vitals_near_baseline = models.BooleanField(default=False)
    discharge_escort_present = models.BooleanField(default=False)
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deferred_reason = models.TextField(blank=True)
    deferred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"visit for appointment {self.appointment_id}"


class VisitItemAcknowledgement(AppendOnlyModel):
    """A clinician's acknowledgement, with a reason, of one day-of item that blocks an infusion (a
    patient's yes on a hard-stop or review question, from the pre-visit check-in or the desk).
    Append-only: a yes is never turned into a no, it is acknowledged (scheduling.visits.items)."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="acknowledgements")
    item = models.CharField(max_length=64)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "item"], name="visit_item_acknowledged_once")
        ]

    def __str__(self) -> str:
        return f"{self.item} acknowledged for visit {self.visit_id}"


class VitalsPolicy(models.Model):
    """The clinic's vital-signs gate lines (reference §2.4), one row (id 1). The VITALS_* settings
    are only its first values; afterwards an admin changes them, each change audited with before
    and after (scheduling.policy)."""

    note_systolic = models.PositiveSmallIntegerField(_("note from systolic"))
    note_diastolic = models.PositiveSmallIntegerField(_("note from diastolic"))
    sign_off_systolic = models.PositiveSmallIntegerField(_("sign-off from systolic"))
    sign_off_diastolic = models.PositiveSmallIntegerField(_("sign-off from diastolic"))
    defer_above_systolic = models.PositiveSmallIntegerField(_("defer above systolic"))
    defer_above_diastolic = models.PositiveSmallIntegerField(_("defer above diastolic"))
    hr_defer_below = models.PositiveSmallIntegerField(_("defer below heart rate"))
    hr_defer_above = models.PositiveSmallIntegerField(_("defer above heart rate"))
    hr_sign_off_from = models.PositiveSmallIntegerField(_("sign-off from heart rate"))
    spo2_sign_off_below = models.PositiveSmallIntegerField(_("sign-off below SpO2"))
    spo2_defer_below = models.PositiveSmallIntegerField(_("defer below SpO2"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("vital-signs policy")
        verbose_name_plural = _("vital-signs policy")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="vitals_policy_single_row")
        ]

    def __str__(self) -> str:
        return str(_("Vital-signs gate lines"))


class ReadingPhase(models.TextChoices):
    BEFORE = "before", _("Before the infusion")
    DURING = "during", _("During the infusion")
    DISCHARGE = "discharge", _("Before discharge")


class VitalReading(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="readings")
    phase = models.CharField(max_length=16, choices=ReadingPhase.choices)
    systolic = models.PositiveSmallIntegerField()
    diastolic = models.PositiveSmallIntegerField()
    heart_rate = models.PositiveSmallIntegerField()
    spo2 = models.PositiveSmallIntegerField()
    weight_lb = models.PositiveSmallIntegerField(null=True, blank=True)
    # Symptom codes (scheduling.vitals.SYMPTOMS): any of them sends the visit down the
    # emergency pathway whatever the numbers say.
    symptoms = models.JSONField(default=list, blank=True)
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["taken_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(systolic__gte=50, systolic__lte=300)
                & models.Q(diastolic__gte=20, diastolic__lte=200)
                & models.Q(heart_rate__gte=20, heart_rate__lte=250)
                & models.Q(spo2__gte=50, spo2__lte=100),
                name="vital_reading_plausible",
            )
        ]

    def __str__(self) -> str:
        return f"{self.systolic}/{self.diastolic} HR {self.heart_rate} SpO2 {self.spo2}"


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
    transaction (scheduling.reminders.plan) and claimed by the dispatch sweep when due."""

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
