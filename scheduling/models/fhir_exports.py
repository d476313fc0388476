"""FHIR Bulk Data exports (issue 23, item 3): a job a client kicked off, and the NDJSON files it
wrote (scheduling.fhir.export runs them; docs/fhir.md, "Bulk export").

Each file keeps the ids of the patients its resources are about (a JSON list: a clinic's export
names at most a few thousand patients per file), so a download is audited with exactly the
patients it carried, as a read or search is. Staff and machine facing: labels in English only.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from scheduling.models.fhir_clients import FhirClient


class ExportLevel(models.TextChoices):
    SYSTEM = "system", "System ($export)"
    PATIENT = "patient", "All patients (Patient/$export)"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


# A job in one of these still has work to do (and counts toward the client's concurrent jobs).
ACTIVE_EXPORT_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportJob(models.Model):
    # Random (32 hex digits), the only id a client sees: in the status and file URLs.
    public_id = models.CharField(max_length=64, unique=True, editable=False)
    client = models.ForeignKey(
        FhirClient, on_delete=models.PROTECT, related_name="export_jobs", editable=False
    )
    level = models.CharField(max_length=16, choices=ExportLevel.choices)
    # The resource types to write, in order (checked against the registry and the client's scopes
    # at kick-off).
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    output_format = models.CharField(max_length=40, default="application/fhir+ndjson")
    # The kick-off URL, for the manifest's `request`.
    request_url = models.CharField(max_length=2000)
    # What a lenient kick-off (Prefer: handling=lenient) ignored: one OperationOutcome each in the
    # manifest's error file.
    warnings = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    types_done = models.PositiveIntegerField(default=0)
    resources_written = models.PositiveBigIntegerField(default=0)
    # A run claims the job by raising `attempt`; a run whose attempt is no longer the job's stops
    # (a redelivered task restarted it, or it was cancelled).
    attempt = models.PositiveIntegerField(default=0)
    # Safe to show a client (no exception text, no health information).
    error = models.TextField(blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The last progress a run recorded (the sweep re-queues a job stalled past this).
    progress_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "FHIR bulk export"
        indexes = [
            models.Index(fields=["client", "status"], name="fhir_export_client_status"),
            models.Index(fields=["status", "expires_at"], name="fhir_export_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.public_id}"

    @property
    def types_total(self) -> int:
        return len(self.types)

    @property
    def progress(self) -> str:
        """ "3/7 types, 1,234 resources": the status's X-Progress and the admin's column."""
        return f"{self.types_done}/{self.types_total} types, {self.resources_written:,} resources"


class ExportFileKind(models.TextChoices):
    OUTPUT = "output", "Output"
    ERROR = "error", "Error"


class ExportFile(models.Model):
    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(
        max_length=8, choices=ExportFileKind.choices, default=ExportFileKind.OUTPUT
    )
    resource_type = models.CharField(max_length=40)
    # The last part of the file's URL: the type, its number and a random part.
    name = models.CharField(max_length=120)
    count = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=300)
    # Ids of the patients the file's resources are about: the download's audit names them.
    patient_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="fhir_export_file_name_once")
        ]

    def __str__(self) -> str:
        return self.name
