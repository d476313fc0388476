from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from propel.append_only import AppendOnlyModel


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SPANISH = "es", _("Spanish")


class HeardAbout(models.TextChoices):
    """How a new patient heard of the clinic (asked by the front desk on the phone)."""

    CLINICIAN = "clinician", _("Referred by a clinician")
    FRIEND = "friend", _("Friend or family")
    SEARCH = "search", _("Web search")
    SOCIAL = "social", _("Social media")
    INSURANCE = "insurance", _("Insurance or directory")
    EVENT = "event", _("Event or talk")
    OTHER = "other", _("Other")


class Patient(models.Model):
    """A person who books with the clinic. Contact details only; health information lives in intake
    submissions, which later issues add."""

    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    email = models.EmailField(_("email"), db_index=True)
    mobile = PhoneNumberField(_("mobile phone"), blank=True)
    # Contact preferences (intake.consent, the one door that changes them after creation): email
    # reminders are part of treatment operations, on from the start with a one-click opt-out;
    # texts need the patient's express consent. Each `_at` is when the value was last set.
    consent_email = models.BooleanField(_("email reminders"), default=True)
    consent_email_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    consent_sms = models.BooleanField(_("text message reminders"), default=False)
    consent_sms_at = models.DateTimeField(null=True, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    # Asked when the front desk registers a caller (intake.patient_registration); blank otherwise.
    heard_about = models.CharField(
        _("how they heard of the clinic"), max_length=16, choices=HeardAbout.choices, blank=True
    )
    heard_about_other = models.CharField(
        _("heard of the clinic: other"), max_length=200, blank=True
    )
    referrer_name = models.CharField(_("referring clinician"), max_length=200, blank=True)
    referrer_practice = models.CharField(_("referring practice"), max_length=200, blank=True)
    referrer_phone = PhoneNumberField(_("referring clinician's phone"), blank=True)
    escort_name = models.CharField(_("escort or driver"), max_length=200, blank=True)
    escort_phone = PhoneNumberField(_("escort's phone"), blank=True)
    # Bumped to revoke every link the patient was sent (intake.links).
    link_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["last_name", "first_name"], name="patient_name")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(date_of_birth__gte=datetime.date(1900, 1, 1)),
                name="patient_dob_after_1900",
            ),
            models.CheckConstraint(
                condition=models.Q(consent_email=False) | models.Q(consent_email_at__isnull=False),
                name="patient_email_consent_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(consent_sms=False) | models.Q(consent_sms_at__isnull=False),
                name="patient_sms_consent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email reminders")
    SMS = "sms", _("Text message reminders")


class ConsentSource(models.TextChoices):
    BOOKING = "booking", _("Online booking form")
    MANAGE_PAGE = "manage_page", _("Patient's own page")
    EMAIL_LINK = "email_link", _("Opt-out link in an email")
    SMS_STOP = "sms_stop", _("STOP reply to a text")
    STAFF = "staff", _("Staff, on the patient's say-so")
    BACKFILL = "backfill", _("Default turned on for existing patients")


class ConsentEvent(AppendOnlyModel):
    """One consent given or withdrawn, with its time and where it came from (intake.consent).
    Append-only: the history of what the patient said; the Patient row holds the current value."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consent_events")
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    given = models.BooleanField()
    source = models.CharField(max_length=16, choices=ConsentSource.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("consent event")
        indexes = [models.Index(fields=["patient", "channel", "-at"], name="consent_event_latest")]

    def __str__(self) -> str:
        state = "given" if self.given else "withdrawn"
        return f"{self.channel} {state} ({self.source}) for patient {self.patient_id}"


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class SubmissionKind(models.TextChoices):
    SCREENING = "screening", _("Screening")
    CHECK_IN = "check_in", _("Pre-infusion check-in")


class IntakeSubmissionQuerySet(models.QuerySet["IntakeSubmission"]):
    def screenings(self) -> IntakeSubmissionQuerySet:
        return self.filter(kind=SubmissionKind.SCREENING)

    def check_ins(self) -> IntakeSubmissionQuerySet:
        return self.filter(kind=SubmissionKind.CHECK_IN)

    def submitted(self) -> IntakeSubmissionQuerySet:
        return self.filter(status=SubmissionStatus.SUBMITTED)


class IntakeSubmission(models.Model):
    """One questionnaire round: a screening (the full intake) or a short pre-infusion check-in.
    Answers are saved step by step, then submitted once and frozen.

    `answers` is a flat mapping from question key (intake.questions, instruments.json item ids) to
    the answer exactly as given. `scores` and the flags are computed at submission. Rounds are
    numbered per patient and kind.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="submissions")
    kind = models.CharField(
        max_length=16, choices=SubmissionKind.choices, default=SubmissionKind.SCREENING
    )
    round = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT
    )
    answers = models.JSONField(default=dict, blank=True)
    completed_sections = models.JSONField(default=list, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    # What a clinician asked for when reopening sections (shown to the patient with the round).
    info_request = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    objects = IntakeSubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["patient", "kind", "-round"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "round"], name="submission_round_unique"
            ),
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(status="draft"),
                name="submission_one_draft_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(submitted_at__isnull=False),
                name="submission_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.round} for patient {self.patient_id}"

    @property
    def is_submitted(self) -> bool:
        return self.status == SubmissionStatus.SUBMITTED


class Severity(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HARD_STOP = "hard_stop", _("Hard stop")
    REVIEW = "review", _("Clinician review")
    INFO = "info", _("Information")


# Most pressing first; queues and charts sort by this.
SEVERITY_ORDER: dict[str, int] = {
    Severity.URGENT: 0,
    Severity.HARD_STOP: 1,
    Severity.REVIEW: 2,
    Severity.INFO: 3,
}


class Flag(models.Model):
    """An eligibility flag raised by a rule at submission (intake.eligibility), with its evidence.

    Never shown to the patient.
    """

    submission = models.ForeignKey(IntakeSubmission, on_delete=models.CASCADE, related_name="flags")
    rule_id = models.CharField(max_length=40)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    title = models.CharField(max_length=200)
    evidence = models.JSONField(default=list)
    source = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submission", "id"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "rule_id"], name="flag_rule_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.severity})"


class AlertPriority(models.TextChoices):
    URGENT = "urgent", _("Urgent: contact the same business day")
    IMMEDIATE = "immediate", _("Immediate: phone within the hour")


class CrisisAlert(models.Model):
    """A self-harm answer that a clinician must act on: when it was raised, who was told, who
    acknowledged it. The alert email names no health detail, only that a chart needs attention."""

    submission = models.OneToOneField(
        IntakeSubmission, on_delete=models.PROTECT, related_name="crisis_alert"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="crisis_alerts")
    priority = models.CharField(max_length=16, choices=AlertPriority.choices)
    raised_at = models.DateTimeField()
    # When the clinic's first call (the on-call text) is due: at once in clinic hours, else the
    # next opening. Escalation counts from here (or from `immediate_since`, if later).
    call_due_at = models.DateTimeField(null=True, blank=True)
    # When the alert became immediate (raised so, or raised later by a changed answer).
    immediate_since = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["acknowledged_at", "-raised_at"]
        # The staff banner (intake.context_processors) reads the open alerts on every page.
        indexes = [
            models.Index(
                fields=["priority", "raised_at"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="crisis_alert_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.priority} alert for patient {self.patient_id}"


class FlagAcknowledgement(AppendOnlyModel):
    """A clinician's note on a flag: seen, and what they make of it. Append-only."""

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="acknowledgements")
    by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("flag acknowledgement")
        constraints = [
            models.CheckConstraint(condition=~models.Q(note=""), name="flag_ack_has_note")
        ]

    def __str__(self) -> str:
        return f"ack of flag {self.flag_id} by {self.by_id}"


class DecisionKind(models.TextChoices):
    CLEARED = "cleared", _("Cleared for infusion")
    DECLINED = "declined", _("Declined")
    NEEDS_INFORMATION = "needs_information", _("Needs more information")


class ClearanceDecision(AppendOnlyModel):
    """A clinician's decision on a screening round. Append-only: a later decision supersedes an
    earlier one, nothing is edited. A clearance lasts until `valid_until` (inclusive) and ends
    early when a newer screening round is submitted (intake.clearance)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="decisions")
    submission = models.ForeignKey(
        IntakeSubmission, on_delete=models.PROTECT, related_name="decisions"
    )
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    valid_until = models.DateField(null=True, blank=True)
    # Declined: why. Needs information: what the patient is asked for.
    reason = models.TextField(blank=True)
    # Clearing over a hard stop: the clinician's explicit reason.
    override_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["decided_at", "id"]
        verbose_name = _("clearance decision")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="cleared") | models.Q(valid_until__isnull=False),
                name="decision_cleared_has_end",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="cleared") | ~models.Q(reason=""),
                name="decision_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["patient", "-decided_at"], name="decision_patient_latest")]

    def __str__(self) -> str:
        return f"{self.kind} for patient {self.patient_id}"


class OnCallRole(models.TextChoices):
    ROTA = "rota", _("On-call clinician (paged in turn)")
    ESCALATION = "escalation", _("Escalation contact (told at every escalation)")


class OnCallClinician(models.Model):
    """The crisis rota (intake.crisis): who is texted when a patient's answer needs a clinician.

    It lives in intake, not on scheduling's Clinician, because intake raises the alert and never
    imports scheduling. Rota entries are paged in `order`: the first at once (or at the clinic's
    next opening), the next at each escalation step. Escalation contacts (the clinic's admin) are
    told at every escalation step. Admins edit it in the Django admin.
    """

    user = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="on_call_entries")
    mobile = PhoneNumberField(_("mobile phone for crisis texts"))
    role = models.CharField(max_length=16, choices=OnCallRole.choices, default=OnCallRole.ROTA)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["role", "order", "id"]
        verbose_name = _("on-call contact")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="on_call_user_role_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.order}: {self.user}"


class NotificationChannel(models.TextChoices):
    SMS = "sms", _("Text message")
    EMAIL = "email", _("Email")


class NotificationState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Could not be sent")
    CANCELLED = "cancelled", _("Not sent: acknowledged first")


class CrisisNotification(models.Model):
    """One message about a crisis alert to one person (intake.crisis): the outbox row, written in
    the transaction that raised or escalated the alert, sent by the sweep. Step 0 is the first
    call, step n the nth escalation. Unique per alert, step, priority, channel and address, so
    each step is sent exactly once."""

    alert = models.ForeignKey(CrisisAlert, on_delete=models.PROTECT, related_name="notifications")
    step = models.PositiveSmallIntegerField(default=0)
    priority = models.CharField(max_length=16, choices=AlertPriority.choices)
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to = models.CharField(max_length=254)
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=16, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alert", "step", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "step", "priority", "channel", "to"],
                name="crisis_notification_once",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="sent") | models.Q(sent_at__isnull=False),
                name="crisis_notification_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="pending"),
                name="crisis_notification_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} step {self.step} for alert {self.alert_id}"


# Consent forms, signatures, documents, requirements and referrals (what must be on file).
from intake.paperwork_models import *  # noqa: E402, F403
