"""The FHIR ids handed out for Propel's rows (scheduling.fhir.ids): a random id per (resource type,
row), created the first time the row is exported and never changed, so an EHR can keep it."""

from __future__ import annotations

from django.db import models


class FhirId(models.Model):
    resource_type = models.CharField(max_length=40)
    object_pk = models.BigIntegerField()
    # 32 lowercase hex characters (a UUID4): a valid FHIR id ([A-Za-z0-9\-\.]{1,64}), random, so
    # it tells nothing about the row and cannot be guessed from a neighbour's.
    fhir_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "object_pk"], name="fhir_id_one_per_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.fhir_id}"
