"""API clients of the FHIR read API (issue 23, item 4): registered by an admin, read only.

The client id is public (random, printed in logs); the secret is shown once when the client is
made (scheduling.fhir.access.fhir_client_create) and kept only as a Django password hash.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FhirClient(models.Model):
    name = models.CharField(_("name"), max_length=200)
    client_id = models.CharField(_("client id"), max_length=64, unique=True, editable=False)
    secret_hash = models.CharField(max_length=256, editable=False)
    # SMART scopes, read only: "system/Patient.read", "system/Appointment.read"...
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("FHIR API client")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"
