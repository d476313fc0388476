from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from scheduling.models import Appointment, AppointmentStatus
from scheduling.reminder_plan import reminders_replan


class Command(BaseCommand):
    help = (
        "Re-plan the reminders of every booked appointment still to come from the patients' "
        "current consents (run once after intake migration 0006 turned email reminders on for "
        "existing patients). Idempotent: sent reminders are history and are never sent again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        ids = Appointment.objects.filter(status=AppointmentStatus.BOOKED, start__gt=now)
        count = 0
        for appointment_id in ids.values_list("pk", flat=True).iterator():
            # One transaction per appointment: a long run never holds many row locks.
            with transaction.atomic():
                reminders_replan(appointment_id=appointment_id, now=now)
            count += 1
        self.stdout.write(f"Re-planned the reminders of {count} upcoming appointment(s).")
