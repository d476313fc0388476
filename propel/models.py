from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from propel.append_only import AppendOnlyError, AppendOnlyModel, AppendOnlyQuerySet

# The name callers and tests already use for a refused change to the audit log.
AuditLogImmutable = AppendOnlyError


class AuditEventQuerySet(AppendOnlyQuerySet["AuditEvent"]):
    def for_patient(self, patient_id: int) -> AuditEventQuerySet:
        return self.filter(patient_id=patient_id)


class AuditEvent(AppendOnlyModel):
    """One staff read or change, append-only.

    `patient_id` is a plain number, not a foreign key: the log must outlive the rows it
    describes and propel sits below the apps that own patients. On PostgreSQL a trigger
    (migration 0002) refuses UPDATE and DELETE, so not even raw SQL from the application can
    rewrite history.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    # ClassVar as on the abstract base, which declares `objects` too (django-stubs reads a plain
    # assignment here as an instance variable overriding a class variable).
    objects: ClassVar = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient_id", "-at"], name="audit_patient_at")]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class WorkerHeartbeat(models.Model):
    """When each Celery worker last ran the beat-scheduled heartbeat task."""

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} @ {self.seen_at:%H:%M:%S}"


class AccountLock(models.Model):
    """Sign-in to one username shut after too many failed passwords from any addresses
    (propel.account_lock), until an admin unlocks it. One row per lock: the open one has no
    `unlocked_at`, and at most one is open per username (so one email per lock)."""

    # The username as typed (cut to the width axes keeps), whether or not such an account
    # exists: locking only real accounts would tell an attacker which ones are.
    username = models.CharField(max_length=255)
    locked_at = models.DateTimeField(default=timezone.now)
    failures = models.PositiveIntegerField()
    notified_at = models.DateTimeField(null=True, blank=True)
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-locked_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["username"],
                condition=models.Q(unlocked_at__isnull=True),
                name="account_lock_one_open_per_username",
            )
        ]
        verbose_name = _("locked sign-in")
        verbose_name_plural = _("locked sign-ins")

    def __str__(self) -> str:
        return f"{self.username[:40]} @ {self.locked_at:%Y-%m-%d %H:%M}"
