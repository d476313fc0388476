"""The booking guard's locks: a transaction with a short lock timeout, and the row locks on the
resources an appointment or a hold needs, always in the same order.

Lock order (pretix/pretix:src/pretix/base/services/locking.py): rooms, then clinicians, then the
patient, each by ascending id, so two bookings can never wait on each other in a cycle. A lock wait
longer than BOOKING_LOCK_TIMEOUT_MS becomes SchedulingError("busy"), never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import CharField, Func, Model, Q, QuerySet, Subquery, Value

from intake.models import Patient
from intake.selectors import latest_screening_status
from propel.db import is_lock_timeout, set_local_lock_timeout
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, Clinician, Room


def set_lock_timeout() -> None:
    """Make lock waits in this transaction give up after BOOKING_LOCK_TIMEOUT_MS."""
    set_local_lock_timeout(settings.BOOKING_LOCK_TIMEOUT_MS)


M = TypeVar("M", bound=Model)


def with_lock_timeout(queryset: QuerySet[M, M]) -> QuerySet[M, M]:
    """`queryset`, reading also sets the booking lock timeout for the rest of the transaction
    (as set_lock_timeout does, through set_config(..., true), SET LOCAL's function form), so
    that a transaction's first read costs no round trip of its own. The setting is made only
    when the read returns a row: a caller goes on to take locks only after it did
    (booking_transaction(set_timeout=False)). PostgreSQL only; elsewhere the queryset as it is."""
    if connection.vendor != "postgresql":
        return queryset
    return queryset.annotate(  # type: ignore[return-value]  # annotate widens the model type
        lock_timeout_set=Func(
            Value("lock_timeout"),
            Value(f"{settings.BOOKING_LOCK_TIMEOUT_MS}ms"),
            Value(True),
            function="set_config",
            output_field=CharField(),
        )
    )


@contextmanager
def booking_transaction(*, set_timeout: bool = True) -> Iterator[None]:
    """`atomic()` with the short lock timeout; a lock wait that times out inside it becomes
    SchedulingError("busy") (when nested, only the savepoint is rolled back). With
    `set_timeout=False` the caller's first read sets the timeout (with_lock_timeout) before any
    lock is taken."""
    try:
        with transaction.atomic():
            if set_timeout:
                set_lock_timeout()
            yield
    except OperationalError as error:
        if is_lock_timeout(error):
            raise SchedulingError("busy") from error
        raise


def lock_resources(
    *, rooms: Q, clinicians: Q | None, patient_id: int | None, key: str | None = None
) -> tuple[list[Room], list[Clinician], Patient | None]:
    """Lock the rooms, then the clinicians, then the patient (each by ascending id) for the rest
    of the transaction; return the locked rows (rooms and clinicians in id order). `rooms` and
    `clinicians` are filters (scheduling.resources.candidates), so each kind is found and locked
    in one query; `clinicians=None` locks none. The patient comes with `screening`, the status
    of their latest screening round (intake.selectors.latest_screening_status), which the
    reminder plan of a new consultation needs, and with `key` (an idempotency key) `keyed`, the
    appointment booked with it and `keyed_for`, its patient (None when there is none).
    Patient.DoesNotExist when there is no such patient.

    Read in the statement that locks the patient, after the rooms' and clinicians' locks: a
    booking with the same key that committed while this one waited for them is seen.
    (Same key, same candidates: a booking carrying it holds them until it commits.)"""
    locked_rooms = list(rooms_to_lock(rooms))
    locked_clinicians = list(clinicians_to_lock(clinicians)) if clinicians is not None else []
    if patient_id is None:
        return locked_rooms, locked_clinicians, None
    patient = patient_to_lock(patient_id, key=key).get()
    return locked_rooms, locked_clinicians, patient


def rooms_to_lock(rooms: Q) -> QuerySet[Room]:
    """lock_resources' first query: the rooms of `rooms`, locked, by id."""
    return Room.objects.select_for_update().filter(rooms).order_by("pk")


def clinicians_to_lock(clinicians: Q) -> QuerySet[Clinician]:
    """lock_resources' second query: the clinicians of `clinicians`, locked, by id."""
    return Clinician.objects.select_for_update().filter(clinicians).order_by("pk")


def patient_to_lock(patient_id: int, *, key: str | None) -> QuerySet[Patient]:
    """lock_resources' third query: the patient, locked, with `screening` and, with `key`,
    `keyed` and `keyed_for` (see lock_resources)."""
    about: dict[str, Any] = {"screening": latest_screening_status()}
    if key:
        keyed = Appointment.objects.filter(idempotency_key=key)
        about["keyed"] = Subquery(keyed.values("pk")[:1])
        about["keyed_for"] = Subquery(keyed.values("patient_id")[:1])
    return Patient.objects.select_for_update().annotate(**about).filter(pk=patient_id)
