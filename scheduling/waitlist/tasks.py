"""Celery tasks of the waitlist (thin: ids in, one service called)."""

from __future__ import annotations

from celery import shared_task

from scheduling.waitlist.freed import freed_slot_offer as offer_freed_slot
from scheduling.waitlist.freed import freed_slots_sweep as sweep_freed_slots
from scheduling.waitlist.services import offers_expire as expire_offers


@shared_task(name="scheduling.waitlist.tasks.freed_slot_offer", ignore_result=True)
def freed_slot_offer(freed_slot_id: int) -> None:
    offer_freed_slot(freed_slot_id=freed_slot_id)


@shared_task(name="scheduling.waitlist.tasks.freed_slots_sweep", ignore_result=True)
def freed_slots_sweep() -> None:
    sweep_freed_slots()


@shared_task(name="scheduling.waitlist.tasks.offers_expire", ignore_result=True)
def offers_expire() -> None:
    expire_offers()
