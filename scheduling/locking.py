"""The booking guard's locks: a transaction with a short lock timeout, and the row locks on the
resources an appointment or a hold needs, always in the same order.

Lock order (pretix/pretix:src/pretix/base/services/locking.py): rooms, then clinicians, then the
patient, each by ascending id, so two bookings can never wait on each other in a cycle. A lock wait
longer than BOOKING_LOCK_TIMEOUT_MS becomes SchedulingError("busy"), never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, transaction

from intake.models import Patient
from propel.db import is_lock_timeout, set_local_lock_timeout
from scheduling.errors import SchedulingError
from scheduling.models import Clinician, Room


def set_lock_timeout() -> None:
    """Make lock waits in this transaction give up after BOOKING_LOCK_TIMEOUT_MS."""
    set_local_lock_timeout(settings.BOOKING_LOCK_TIMEOUT_MS)


@contextmanager
def booking_transaction() -> Iterator[None]:
    """`atomic()` with the short lock timeout; a lock wait that times out inside it becomes
    SchedulingError("busy") (when nested, only the savepoint is rolled back)."""
    try:
        with transaction.atomic():
            set_lock_timeout()
            yield
    except OperationalError as error:
        if is_lock_timeout(error):
            raise SchedulingError("busy") from error
        raise


def lock_resources(
    *, room_ids: list[int], clinician_ids: list[int], patient_id: int | None
) -> tuple[list[Room], list[Clinician], Patient | None]:
    """Lock the rooms, then the clinicians, then the patient (each by ascending id) for the rest
    of the transaction; return the locked rows (rooms and clinicians in id order)."""
    rooms = list(Room.objects.select_for_update().filter(pk__in=room_ids).order_by("pk"))
    clinicians = list(
        Clinician.objects.select_for_update().filter(pk__in=clinician_ids).order_by("pk")
    )
    if patient_id is None:
        return rooms, clinicians, None
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    return rooms, clinicians, patient
