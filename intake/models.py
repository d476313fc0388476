from __future__ import annotations

import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Patient(models.Model):
    """A person who books with the clinic. Contact details only; health information lives in intake
    submissions, which later issues add."""

    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    email = models.EmailField(_("email"), db_index=True)
    mobile = PhoneNumberField(_("mobile phone"), blank=True)
    consent_email = models.BooleanField(_("may contact by email"), default=False)
    consent_email_at = models.DateTimeField(null=True, blank=True)
    consent_sms = models.BooleanField(_("may contact by text message"), default=False)
    consent_sms_at = models.DateTimeField(null=True, blank=True)
    escort_name = models.CharField(_("escort or driver"), max_length=200, blank=True)
    escort_phone = PhoneNumberField(_("escort's phone"), blank=True)
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
