"""The service: `scale_seed` and the summary it returns."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from demo.scale_data.answers import answer_templates
from demo.scale_data.context import _Context
from demo.scale_data.errors import ScaleSeedError
from demo.scale_data.parameters import EMAIL_PREFIX, TYPE_CODES
from demo.scale_data.plan import _Planner
from demo.scale_data.resources import _top_up_clinicians, _top_up_rooms
from demo.scale_data.writer import _Writer
from demo.seed import DEMO_EMAIL_DOMAIN
from intake.models import Patient
from scheduling.courses.services import rules_from_settings
from scheduling.models import AppointmentType, OpeningHours


@dataclass(frozen=True)
class ScaleSummary:
    patients: int
    appointments: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    courses: int
    reminders: int
    screenings: int
    decisions: int
    rooms: int
    rooms_added: int
    clinicians: int
    clinicians_added: int
    first_day: dt.date
    last_day: dt.date

    def line(self) -> str:
        types = ", ".join(f"{n} {code}" for code, n in sorted(self.by_type.items()))
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(self.by_status.items()))
        return (
            f"{self.patients} scale patients, {self.appointments} appointments "
            f"{self.first_day}..{self.last_day} ({types}; {statuses}), {self.courses} courses, "
            f"{self.screenings} screenings, {self.decisions} decisions, "
            f"{self.reminders} reminders, {self.rooms} rooms (+{self.rooms_added}), "
            f"{self.clinicians} clinicians (+{self.clinicians_added})"
        )


def scale_patients_exist() -> bool:
    return Patient.objects.filter(
        email__startswith=EMAIL_PREFIX, email__endswith=f"@{DEMO_EMAIL_DOMAIN}"
    ).exists()


def scale_seed(
    *,
    appointments: int,
    patients: int,
    rooms: int,
    clinicians: int,
    seed: int = 1,
    now: dt.datetime,
) -> ScaleSummary:
    """Add the scale clinic (see the module's docstring) in one transaction and say what it made.

    Refuses (ScaleSeedError) in production mode, when scale patients already exist, when the
    demo clinic (opening hours, the four appointment types) is missing, or when the volume asked
    does not fit the clinic's hours. `now` is when the data is "as of": appointments before it are
    history (mostly completed), after it booked.
    """
    if settings.PRODUCTION:
        raise ScaleSeedError("seed_scale refuses to run with PROPEL_MODE=production.")
    if appointments < 0 or patients < 1 or rooms < 2 or clinicians < 1:
        raise ScaleSeedError("Ask for at least 1 patient, 2 rooms, 1 clinician, 0 appointments.")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    with transaction.atomic():
        types = _demo_clinic_types()
        rooms_added = _top_up_rooms(rooms)
        clinicians_added = _top_up_clinicians(clinicians)
        context = _Context.load(types=types, now=now)
        planner = _Planner(
            grid=context.grid,
            types=context.kinds,
            templates=answer_templates(seed=seed, today=context.today),
            rules=rules_from_settings(),
            clearance_days=min(settings.CLEARANCE_VALID_DAYS, settings.CLEARANCE_MAX_DAYS),
            seed=seed,
            now=now,
        )
        planner.run(patients=patients, appointments=appointments)
        written = _Writer(context, planner, seed=seed).write()
    return _summary(
        context,
        planner,
        written,
        patients=patients,
        rooms_added=rooms_added,
        clinicians_added=clinicians_added,
    )


def _demo_clinic_types() -> dict[str, AppointmentType]:
    """The demo clinic's appointment types by code, once it is known that no scale patients
    exist yet and that the demo clinic (opening hours, the four types) is there."""
    if scale_patients_exist():
        raise ScaleSeedError(
            "Scale patients already exist in this database: seed_scale runs once per "
            "database (start from a fresh one: migrate, seed_demo, seed_scale)."
        )
    types = {t.code: t for t in AppointmentType.objects.filter(code__in=TYPE_CODES, active=True)}
    if set(types) != set(TYPE_CODES) or not OpeningHours.objects.exists():
        raise ScaleSeedError(
            "The demo clinic is missing (opening hours and the appointment types "
            f"{', '.join(TYPE_CODES)}): run manage.py seed_demo first."
        )
    return types


def _summary(
    context: _Context,
    planner: _Planner,
    written: dict[str, int],
    *,
    patients: int,
    rooms_added: int,
    clinicians_added: int,
) -> ScaleSummary:
    slots = planner.slots
    return ScaleSummary(
        patients=patients,
        appointments=len(slots),
        by_type=dict(Counter(slot.code for slot in slots)),
        by_status=dict(Counter(str(slot.status) for slot in slots)),
        courses=len(planner.courses),
        reminders=written["reminders"],
        screenings=sum(p.screening == "submitted" for p in planner.patients),
        decisions=sum(bool(p.decision) for p in planner.patients),
        rooms=sum(len(pks) for pks in context.grid.rooms.values()),
        rooms_added=rooms_added,
        clinicians=len(context.clinicians),
        clinicians_added=clinicians_added,
        first_day=context.grid.days[0],
        last_day=context.grid.days[-1],
    )
