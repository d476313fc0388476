"""Blocked time: a clinician's time off (vacation, training, sick) or a room out of use
(maintenance), from one instant to another. Availability treats it as busy (scheduling.slots,
scheduling.booking_facts); scheduling.time_off creates and removes it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scheduling.models.clinic import Clinician, Room
from scheduling.models.spans import SpanOverlaps


class BlockedReason(models.TextChoices):
    VACATION = "vacation", _("Vacation")
    TRAINING = "training", _("Training")
    SICK = "sick", _("Sick leave")
    MAINTENANCE = "maintenance", _("Maintenance")
    OTHER = "other", _("Other")


class BlockedTimeQuerySet(models.QuerySet["BlockedTime"]):
    def overlapping(self, start: datetime.datetime, end: datetime.datetime) -> BlockedTimeQuerySet:
        """Half-open overlap, from the GiST span index (scheduling.models.spans)."""
        return self.filter(SpanOverlaps(start, end))


class BlockedTime(models.Model):
    """Exactly one of `clinician` and `room` is blocked over [start, end)."""

    clinician = models.ForeignKey(
        Clinician,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blocked_times",
        verbose_name=_("clinician"),
    )
    room = models.ForeignKey(
        Room,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blocked_times",
        verbose_name=_("room"),
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=16, choices=BlockedReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BlockedTimeQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("blocked time")
        verbose_name_plural = _("blocked times")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="blocked_time_start_before_end"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(clinician__isnull=False, room__isnull=True)
                    | models.Q(clinician__isnull=True, room__isnull=False)
                ),
                name="blocked_time_one_resource",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinician or self.room}: {self.get_reason_display()}"

    @property
    def resource_name(self) -> str:
        resource = self.clinician or self.room
        return str(resource)
