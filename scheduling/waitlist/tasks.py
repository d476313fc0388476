"""Celery tasks of the waitlist (thin: ids in, one service called)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from scheduling.waitlist.services import offers_expire as expire_offers
from scheduling.waitlist.services import slot_freed as offer_slot


@shared_task(name="scheduling.waitlist.tasks.slot_freed", ignore_result=True)
def slot_freed(appointment_type_id: int, start: int, room_id: int, clinician_id: int) -> None:
    offer_slot(
        appointment_type_id=appointment_type_id,
        start=dt.datetime.fromtimestamp(start, tz=dt.UTC),
        room_id=room_id,
        clinician_id=clinician_id or None,
    )


@shared_task(name="scheduling.waitlist.tasks.offers_expire", ignore_result=True)
def offers_expire() -> None:
    expire_offers()
