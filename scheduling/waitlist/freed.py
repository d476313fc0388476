"""Offer each freed slot (scheduling.models.FreedSlot) exactly once.

A row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and marked processed in the same
transaction as the offer it makes (scheduling.waitlist.services.slot_freed): two workers (the
on-commit task and the beat sweep, or two sweeps) never both offer it, and a crash before commit
leaves the row for the next sweep."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from scheduling.models import FreedSlot
from scheduling.waitlist.services import slot_freed

SWEEP_BATCH = 50


def _claim_and_offer(queryset: QuerySet[FreedSlot], *, now: dt.datetime) -> int | None:
    """Claim the first unprocessed row of `queryset`, offer it and mark it processed; the
    claimed row's id, or None when there is none free to claim."""
    with transaction.atomic():
        freed = (
            queryset.filter(processed_at__isnull=True)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .first()
        )
        if freed is None:
            return None
        slot_freed(
            appointment_type_id=freed.appointment_type_id,
            start=freed.start,
            room_id=freed.room_id,
            clinician_id=freed.clinician_id,
            now=now,
        )
        freed.processed_at = now
        freed.save(update_fields=["processed_at"])
        return freed.pk


def freed_slot_offer(*, freed_slot_id: int, now: dt.datetime | None = None) -> bool:
    """Offer one freed slot unless it was offered already (or another worker holds it)."""
    now = now or timezone.now()
    rows = FreedSlot.objects.filter(pk=freed_slot_id)
    return _claim_and_offer(rows, now=now) is not None


def freed_slots_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Offer the freed slots no task offered (a broker outage at commit), oldest first, up to
    SWEEP_BATCH per run. Returns the ids offered by this run."""
    now = now or timezone.now()
    done: list[int] = []
    while len(done) < SWEEP_BATCH:
        claimed = _claim_and_offer(FreedSlot.objects.all(), now=now)
        if claimed is None:
            break
        done.append(claimed)
    return done
