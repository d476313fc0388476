"""API clients of the FHIR read API (issue 23, item 4): registered by an admin, read only.

The client id is public (random, printed in logs). A client proves who it is either with a secret
(shown once when the client is made, kept only as a Django password hash) or, for SMART Backend
Services, with a JWT signed by a private key whose public half is registered here (`jwks`).
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
    # The client's public JSON Web Key Set ({"keys": [...]}, RSA or EC public keys, each with a
    # kid), checked by scheduling.fhir.smart.clean_jwks. Empty: the client signs nothing and uses
    # its secret. Registered by value only: a jwks_url would make the server fetch from outside.
    jwks = models.JSONField(_("public keys (JWKS)"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Not stored: the scopes of the call in hand when it came with a bearer token (the token's
    # granted scopes, which may be narrower than the client's); None for HTTP Basic.
    # scheduling.fhir.access.allowed reads both.
    granted_scopes: frozenset[str] | None = None

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("FHIR API client")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class FhirAssertionUse(models.Model):
    """A signed client assertion's jti, kept until the assertion expires: each is used once
    (SMART client-confidential-asymmetric: no replay). The unique constraint is the guard."""

    client = models.ForeignKey(FhirClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="fhir_assertion_jti_once")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.jti}"
