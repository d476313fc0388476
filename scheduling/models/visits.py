"""The day of a visit: the pre-infusion check-in, the visit itself, acknowledgements, the
vital-signs policy and readings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from propel.append_only import AppendOnlyModel
from scheduling.models.appointments import Appointment


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
