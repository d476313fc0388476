"""Online booking requests: what someone typed on the public booking form, kept only until the
emailed confirmation link is opened or the request expires (scheduling.online.booking)."""

from __future__ import annotations

import datetime as dt

from django.db import models

from scheduling.models.appointments import Appointment


class BookingRequest(models.Model):
    """A consultation asked for on the public form and not yet confirmed from the email.

    Nothing here is matched against patient records: the form's answer is the same for everyone,
    and the patient is found or created only when the emailed link is confirmed. Unconfirmed
    requests are deleted once expired (scheduling.holds.holds_purge): typed details are not kept.
    """

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    email = models.EmailField(max_length=254)
    mobile = models.CharField(max_length=32)
    consent_email = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    # The language the form was filled in (the active language, issue 22): the confirmation email
    # is written in it, and a patient the confirmation creates prefers it.
    language = models.CharField(max_length=2, default="en")
    start = models.DateTimeField()
    hold_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    appointment = models.OneToOneField(
        Appointment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booking_request",
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"booking request {self.pk} for {self.start:%Y-%m-%d %H:%M}"

    def is_live(self, now: dt.datetime) -> bool:
        return self.expires_at > now
