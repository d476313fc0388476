"""4. Booking: committing one consultation through the real services vs a bare create(), and an
8-session infusion course vs one infusion booking.

Measured in one process (`python -m bench.items.booking`, production settings) on a copy of the
large state, so the rows it books do not change what the later items see. Every operation is
timed on its own with perf_counter and includes its commit; the kinds are interleaved (the order
rotates every round) so drift on the shared machine hits them alike, and medians are compared.

- "front desk": scheduling.booking.appointment_book (locks rooms, clinicians and the patient,
  re-checks hours and overlaps, writes the appointment, its status history, its reminder rows
  and an audit event) at a free consultation slot found by scheduling.slots.find_slots.
- "online": scheduling.online.services.online_consultation_book (the patient-facing path:
  advisory lock on the key, window and age checks, patient match, hard-stop check, then
  appointment_book with the online cap).
- floor: `Appointment.objects.create(...)` of the same row (same patient, type, room and
  clinician choice, booked_by) inside `transaction.atomic()`, on the same connection.
- course: scheduling.courses.services.course_book of 8 infusion sessions (4 weeks, Tuesdays and
  Thursdays) for a cleared patient vs appointment_book of one infusion for the same patient at the
  course's first start; each is cancelled (untimed) before the next round, so every round books
  the same times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from typing import Any

from bench.harness import LARGE_DB, NAME, Bench
from bench.report import Row

ITEM = "4. Booking"
WORK_DB = f"{NAME}_booking"
WARMUP = 3


def measure(bench: Bench) -> list[Row]:
    bench.create_db(WORK_DB, template=LARGE_DB)
    try:
        result = bench.run_item(
            "bench.items.booking",
            WORK_DB,
            "--count",
            str(bench.count(100)),
            "--courses",
            str(max(3, bench.count(10))),
        )
    finally:
        bench.drop_db(WORK_DB)
    return rows(result)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def rows(result: dict[str, Any]) -> list[Row]:
    times = result["ms"]
    queries = result["queries"]
    floor = _median(times["floor"])
    out = []
    for kind, what, most_queries in (
        ("staff", "one consultation, front desk (appointment_book)", 12),
        ("online", "one consultation, online (online_consultation_book)", 15),
    ):
        if not times.get(kind):
            continue
        booking = _median(times[kind])
        share = floor / booking
        out.append(
            Row(
                ITEM,
                what,
                f"{booking:.1f} ms/booking ({1000 / booking:.0f}/s), {queries[kind]} queries",
                f"{floor:.1f} ms per bare create() ({1000 / floor:.0f}/s), "
                f"{queries['floor']} queries",
                share,
                f">= 25%, <= {most_queries} queries",
                share >= 0.25 and queries[kind] <= most_queries,
                f"booking throughput as a share of create()'s (= create ms / booking ms); "
                f"median of {len(times[kind])} each, interleaved, commit included; queries "
                "counted as Django logs them (BEGIN and COMMIT included)",
            )
        )
    course = _median(times["course"])
    single = _median(times["single"])
    ratio = course / single
    out.append(
        Row(
            ITEM,
            "8-session infusion course (course_book) vs one infusion booking",
            f"{course:.1f} ms/course, {queries['course']} queries",
            f"{single:.1f} ms/booking, {queries['single']} queries",
            ratio,
            "<= 2x",
            ratio <= 2,
            f"whole course vs one booking; per session {course / 8 / single:.2f}x one booking;"
            f" same cleared patient and times; median of {len(times['course'])} each,"
            " interleaved",
        )
    )
    return out


# --- Inside Django (python -m bench.items.booking) -----------------------------------------------


def _free_slots(now: dt.datetime, appointment_type: Any) -> list[Any]:
    """Free one-hour consultation starts on the hour, 2 to 55 days ahead (inside the online
    window), that do not overlap each other: each is used by one operation only."""
    from scheduling.slots import clinic_tz, find_slots

    today = now.astimezone(clinic_tz()).date()
    slots = find_slots(
        appointment_type=appointment_type,
        start_date=today + dt.timedelta(days=2),
        end_date=today + dt.timedelta(days=55),
        include_extra_openings=False,
        not_before=now + dt.timedelta(days=2),
        step=dt.timedelta(minutes=appointment_type.duration_minutes),
        now=now,
    )
    return [slot for slot in slots if slot.start.astimezone(clinic_tz()).minute == 0]


class Patients:
    """Existing patients, each used once, free at the time asked for."""

    def __init__(self, rng: random.Random) -> None:
        from intake.models import Patient

        ids = list(Patient.objects.exclude(email="").values_list("pk", flat=True))
        rng.shuffle(ids)
        self.ids = ids

    def take(self, start: dt.datetime, end: dt.datetime, *, online: bool) -> int:
        from intake.selectors import has_hard_stop
        from scheduling.models import Appointment, BookedVia

        while self.ids:
            patient_id = self.ids.pop()
            busy = Appointment.objects.active().overlapping(start, end)
            if busy.filter(patient_id=patient_id).exists():
                continue
            if online and (
                has_hard_stop(patient_id)
                or Appointment.objects.active()
                .filter(patient_id=patient_id, booked_via=BookedVia.ONLINE, start__gt=start)
                .exists()
            ):
                continue
            return patient_id
        raise RuntimeError("ran out of patients free for a booking")


def _timed(operation: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = operation()
    return (time.perf_counter() - started) * 1000, value


def _queries(operation: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        operation()
    return len(captured.captured_queries)


def consultations(count: int, now: dt.datetime, actor: Any) -> tuple[dict, dict]:
    from django.db import transaction

    from intake.models import Patient
    from scheduling.booking import appointment_book
    from scheduling.errors import SchedulingError
    from scheduling.models import Appointment, AppointmentType
    from scheduling.online.booking import online_consultation_book
    from scheduling.online.rules import PatientDetails

    consultation = AppointmentType.objects.get(code="consultation")
    slots = _free_slots(now, consultation)
    # Each operation takes its own free hour (3 kinds, warm-up, the query count, a few spare).
    available = len(slots) // 3 - WARMUP - 5
    if available < min(count, 10):
        raise RuntimeError(f"only {len(slots)} free consultation hours in the online window")
    count = min(count, available)
    rng = random.Random(4)  # noqa: S311 - bench sampling, not security
    patients = Patients(rng)
    slot_iter = iter(slots)

    def staff() -> Any:
        slot = next(slot_iter)
        patient_id = patients.take(slot.start, slot.end, online=False)
        return lambda: appointment_book(
            patient_id=patient_id,
            appointment_type_id=consultation.pk,
            start=slot.start,
            actor=actor,
            now=now,
        )

    def online() -> Any:
        slot = next(slot_iter)
        patient = Patient.objects.get(pk=patients.take(slot.start, slot.end, online=True))
        details = PatientDetails(
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            email=patient.email,
            mobile=str(patient.mobile),
            consent_email=patient.consent_email,
            consent_sms=patient.consent_sms,
        )
        key = f"bench-{slot.start:%Y%m%d%H%M}-{patient.pk}"
        return lambda: online_consultation_book(
            details=details, start=slot.start, hold_key=key, now=now
        )

    def floor() -> Any:
        slot = next(slot_iter)
        patient_id = patients.take(slot.start, slot.end, online=False)

        def create() -> Any:
            with transaction.atomic():
                return Appointment.objects.create(
                    patient_id=patient_id,
                    appointment_type=consultation,
                    start=slot.start,
                    end=slot.end,
                    room_id=slot.room_ids[0],
                    clinician_id=slot.clinician_ids[0],
                    booked_by=actor,
                )

        return create

    kinds = {"staff": staff, "online": online, "floor": floor}

    def attempt(kind: str, measure: Any) -> float:
        """Time one operation; a refusal (a patient the online rules turn away) is not timed
        and the next patient and slot are tried."""
        for _ in range(5):
            operation = kinds[kind]()
            try:
                return measure(operation)
            except SchedulingError:
                continue
        raise RuntimeError(f"{kind}: five refusals in a row")

    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    order = list(kinds)
    for round_ in range(WARMUP + count):
        for kind in order[round_ % 3 :] + order[: round_ % 3]:
            elapsed = attempt(kind, lambda operation: _timed(operation)[0])
            if round_ >= WARMUP:
                times[kind].append(elapsed)
    queries = {kind: int(attempt(kind, _queries)) for kind in kinds}
    return times, queries


def _cleared_patients(now: dt.datetime, until: dt.date) -> list[int]:
    """Patients cleared until `until` with nothing booked ahead (a course of their own would
    collide with the bench's)."""
    from intake.clearance import clearance_statuses, clinic_date
    from intake.models import ClearanceDecision, DecisionKind
    from scheduling.models import Appointment

    candidates = ClearanceDecision.objects.filter(
        kind=DecisionKind.CLEARED, valid_until__gte=until
    ).values_list("patient_id", flat=True)
    busy = set(
        Appointment.objects.active().filter(end__gt=now).values_list("patient_id", flat=True)
    )
    statuses = clearance_statuses(candidates, today=clinic_date(now))
    cleared = sorted(
        pid for pid, status in statuses.items() if status.is_cleared and pid not in busy
    )
    if not cleared:
        raise RuntimeError("no patient cleared for the next 9 weeks with nothing booked")
    return cleared


def _course_plan(patients: list[int], now: dt.datetime, actor: Any) -> tuple[int, list]:
    """A patient and 8 starts (two a week at most, the course gap apart, over 4 weeks) that
    course_book accepts. The large state's infusion chairs are busy, so the starts are taken
    from the free infusion slots (find_slots) rather than a fixed weekly time (course_propose
    leaves rooms and clinicians to the booking); each candidate plan is booked and cancelled
    once, untimed, to be sure."""
    from django.conf import settings

    from scheduling.courses.services import course_book, course_cancel_remaining
    from scheduling.errors import SchedulingError
    from scheduling.models import AppointmentType
    from scheduling.slots import clinic_tz, find_slots

    # The course rule's gap between starts, and an hour to spare.
    min_gap = dt.timedelta(hours=settings.COURSE_MIN_HOURS_BETWEEN + 1)
    infusion = AppointmentType.objects.get(code="infusion")
    today = now.astimezone(clinic_tz()).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    refusals: list[str] = []
    # Five candidate first weeks (the patients are cleared for 9): around the holidays the
    # clinic's closures leave some 4-week windows without 8 free chairs.
    for week in range(5):
        first = monday + dt.timedelta(weeks=week)
        slots = find_slots(
            appointment_type=infusion,
            start_date=first,
            end_date=first + dt.timedelta(weeks=4),
            include_extra_openings=False,
            now=now,
        )
        starts: list[dt.datetime] = []
        per_week: dict[tuple[int, ...], int] = {}
        for slot in sorted(slots, key=lambda s: s.start):
            local_day = slot.start.astimezone(clinic_tz()).date()
            iso_week = tuple(local_day.isocalendar()[:2])
            if starts and slot.start - starts[-1] < min_gap:
                continue
            # The course rule's span: the last session fewer than 4 weeks of days after the first.
            if starts and (local_day - starts[0].astimezone(clinic_tz()).date()).days >= 28:
                break
            if per_week.get(iso_week, 0) >= 2:
                continue
            starts.append(slot.start)
            per_week[iso_week] = per_week.get(iso_week, 0) + 1
            if len(starts) == 8:
                break
        if len(starts) < 8:
            refusals.append("too_few_free_slots")
            continue
        for patient_id in patients[:5]:
            try:
                course = course_book(
                    patient_id=patient_id, starts=starts, actor=actor, weeks=4, now=now
                )
            except SchedulingError as error:
                refusals.append(error.code)
                continue
            course_cancel_remaining(course_id=course.pk, actor=actor, reason="bench", now=now)
            return patient_id, starts
    raise RuntimeError(f"no 8-session course could be booked: {sorted(set(refusals))}")


def courses(count: int, now: dt.datetime, actor: Any) -> tuple[dict, dict]:
    from scheduling.booking import appointment_book
    from scheduling.courses.services import course_book, course_cancel_remaining
    from scheduling.models import AppointmentStatus, AppointmentType
    from scheduling.transitions import appointment_transition

    infusion = AppointmentType.objects.get(code="infusion")
    patients = _cleared_patients(now, now.date() + dt.timedelta(weeks=9))
    patient_id, starts = _course_plan(patients, now, actor)

    def course() -> Any:
        return course_book(patient_id=patient_id, starts=starts, actor=actor, weeks=4, now=now)

    def single() -> Any:
        return appointment_book(
            patient_id=patient_id,
            appointment_type_id=infusion.pk,
            start=starts[0],
            actor=actor,
            now=now,
        )

    def undo(kind: str, made: Any) -> None:
        if kind == "course":
            course_cancel_remaining(course_id=made.pk, actor=actor, reason="bench", now=now)
        else:
            appointment_transition(
                appointment_id=made.pk,
                to_status=AppointmentStatus.CANCELLED,
                actor=actor,
                now=now,
            )

    kinds = {"course": course, "single": single}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    queries: dict[str, int] = {}
    for round_ in range(1 + count):
        for kind in ("course", "single") if round_ % 2 else ("single", "course"):
            elapsed, made = _timed(kinds[kind])
            if round_ >= 1:
                times[kind].append(elapsed)
            undo(kind, made)
    for kind, operation in kinds.items():
        results: list[Any] = []
        queries[kind] = _queries(lambda op=operation, out=results: out.append(op()))
        undo(kind, results[0])
    return times, queries


def main() -> None:
    from bench.django_side import emit, setup

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--courses", type=int, default=10)
    args = parser.parse_args()
    setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    actor = get_user_model().objects.get(username="frontdesk")
    now = timezone.now()
    times, queries = consultations(args.count, now, actor)
    course_times, course_queries = courses(args.courses, now, actor)
    emit({"ms": {**times, **course_times}, "queries": {**queries, **course_queries}})


if __name__ == "__main__":
    main()
