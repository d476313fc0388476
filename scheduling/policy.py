"""Clinic policy: which appointment types need a clinician's clearance, and the vital-signs gate
lines (reference §2.4). The one home of both, and the one door for changing them.

The lines live in the VitalsPolicy row (id 1); the VITALS_* settings are only its first values,
copied in on the first read. Whether a type needs clearance lives on AppointmentType. Only an admin
changes either, with a reason, through the services below: each change is one transaction that
locks the row, re-validates against the locked values, and writes one "policy.changed" audit event
with before and after (propel.policy_log reads them back for the clinicians' pages).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import Field, Model
from django.http import HttpRequest
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from propel.audit import audit_record
from propel.policy_log import POLICY_CHANGED
from propel.roles import Role, roles_of
from scheduling.errors import SchedulingError
from scheduling.locking import booking_transaction
from scheduling.models import AppointmentType, VitalsPolicy
from scheduling.spacing import Spacing
from scheduling.vitals import VitalThresholds

POLICY_ROW_ID = 1
POLICY_ROLES = frozenset({Role.ADMIN})

VITALS_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(VitalThresholds))

# The plausible range of each line: the same bounds propel/settings.py gives its VITALS_* readers
# (settings cannot import this module; tests/scheduling/test_clinic_policy.py checks they agree).
VITALS_RANGES: dict[str, tuple[int, int]] = {
    "note_systolic": (100, 250),
    "note_diastolic": (50, 150),
    "sign_off_systolic": (100, 250),
    "sign_off_diastolic": (50, 150),
    "defer_above_systolic": (100, 250),
    "defer_above_diastolic": (50, 150),
    "hr_defer_below": (20, 100),
    "hr_defer_above": (60, 250),
    "hr_sign_off_from": (60, 250),
    "spo2_sign_off_below": (80, 100),
    "spo2_defer_below": (70, 100),
}

# Lines that must rise in this order: (lower, higher, strictly). The bands between them are the
# gate's outcomes, so a crossed pair would make a band empty or send a worse reading to a milder
# outcome (a sign-off line above the defer line would let a reading defer without ever needing
# sign-off, and the reverse would make "sign-off" unreachable).
VITALS_ORDER: tuple[tuple[str, str, bool], ...] = (
    ("note_systolic", "sign_off_systolic", True),
    ("sign_off_systolic", "defer_above_systolic", False),
    ("note_diastolic", "sign_off_diastolic", True),
    ("sign_off_diastolic", "defer_above_diastolic", False),
    ("hr_defer_below", "hr_sign_off_from", True),
    ("hr_sign_off_from", "hr_defer_above", False),
    ("spo2_defer_below", "spo2_sign_off_below", True),
)

# The policy fields of AppointmentType, changed only through appointment_type_policy_change.
APPOINTMENT_TYPE_POLICY_FIELDS = frozenset({"needs_clearance"})


class PolicyError(SchedulingError):
    """A refused policy change. `problems` maps a field to what is wrong with it, so a form can
    show each message beside its field."""

    messages: ClassVar[dict[str, Any]] = {
        **SchedulingError.messages,
        "policy_forbidden": gettext_lazy("Only an admin may change the clinic's policy."),
        "policy_reason_needed": gettext_lazy("Please give a reason for the change."),
        "policy_unknown_field": gettext_lazy("Unknown policy value: {field}."),
        "policy_invalid": gettext_lazy("These values cannot be saved: {summary}"),
        "policy_type_not_found": gettext_lazy("No such appointment type."),
    }

    def __init__(self, code: str, problems: dict[str, str] | None = None, **params: Any) -> None:
        self.problems = dict(problems or {})
        if code == "policy_invalid":
            params.setdefault("summary", " ".join(self.problems.values()))
        super().__init__(code, **params)


# --- Reading ---------------------------------------------------------------------------------


def _first_values() -> dict[str, int]:
    return {name: getattr(settings, f"VITALS_{name.upper()}") for name in VITALS_FIELDS}


def vitals_policy() -> VitalsPolicy:
    """The policy row, created from the VITALS_* settings on the first read. One query once it
    exists; two callers creating it at once both end with the same row (the primary key decides,
    get_or_create re-reads)."""
    row, _created = VitalsPolicy.objects.get_or_create(pk=POLICY_ROW_ID, defaults=_first_values())
    return row


def vitals_thresholds() -> VitalThresholds:
    """The gate lines in force now. Read on every vital-signs recording: one query, no cache, so
    a change applies to the next reading on every web node."""
    row = vitals_policy()
    return VitalThresholds(**{name: getattr(row, name) for name in VITALS_FIELDS})


# --- Rules (pure) ----------------------------------------------------------------------------


def _label(name: str) -> str:
    field = VitalsPolicy._meta.get_field(name)
    assert isinstance(field, Field)  # a column, not a relation
    return str(field.verbose_name)


def vitals_problems(values: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a complete set of gate lines, by field ({} when they can be saved):
    each a whole number inside its plausible range, and the lines in the order of VITALS_ORDER."""
    problems: dict[str, str] = {}
    for name in VITALS_FIELDS:
        value = values.get(name)
        low, high = VITALS_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int):
            problems[name] = _("%(label)s must be a whole number.") % {
                "label": capfirst(_label(name))
            }
        elif not low <= value <= high:
            problems[name] = _("%(label)s must be between %(low)d and %(high)d.") % {
                "label": capfirst(_label(name)),
                "low": low,
                "high": high,
            }
    for lower, higher, strictly in VITALS_ORDER:
        if lower in problems or higher in problems:
            continue
        a, b = values[lower], values[higher]
        if a > b or (strictly and a == b):
            template = (
                _("%(higher)s (%(b)d) must be above %(lower)s (%(a)d).")
                if strictly
                else _("%(higher)s (%(b)d) must be at least %(lower)s (%(a)d).")
            )
            problems[higher] = template % {
                "higher": capfirst(_label(higher)),
                "lower": _label(lower),
                "a": a,
                "b": b,
            }
    return problems


# --- Changing --------------------------------------------------------------------------------


def _require_admin(actor: Any) -> None:
    if not roles_of(actor) & POLICY_ROLES:
        raise PolicyError("policy_forbidden")


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PolicyError("policy_reason_needed", problems={"reason": _("A reason is required.")})
    return reason


def _english(name: str, model: type[Model] = VitalsPolicy) -> str:
    # The audit log keeps one language whatever the admin's browser asked for.
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # a column, not a relation
    with translation.override("en"):
        return str(field.verbose_name)


def _audit_policy_change(
    obj: VitalsPolicy | AppointmentType,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    actor: Any,
    request: HttpRequest | None,
    reason: str,
) -> None:
    """The one "policy.changed" event: what changed (`what`, in English), the changed fields
    before and after with their English labels, and the admin's reason."""
    audit_record(
        action=POLICY_CHANGED,
        actor=actor,
        request=request,
        obj=obj,
        detail={
            "what": what,
            "before": before,
            "after": after,
            "labels": {name: _english(name, type(obj)) for name in after},
            "reason": reason,
        },
    )


def policy_change_vitals(
    *,
    actor: Any,
    changes: dict[str, int],
    reason: str,
    request: HttpRequest | None = None,
) -> VitalThresholds:
    """Change some of the vital-signs gate lines; returns the lines in force afterwards.

    Admin role only (PolicyError "policy_forbidden"), a non-empty reason ("policy_reason_needed").
    The policy row is locked, the changes are applied to the locked values and the complete set
    is checked by vitals_problems ("policy_invalid" with `problems` by field), so two admins
    changing different lines at once cannot together save a crossed pair. Writes one
    "policy.changed" audit event with the changed lines before and after, only when a value
    actually changes (the same values again change and record nothing). A lock wait past
    BOOKING_LOCK_TIMEOUT_MS is SchedulingError("busy").
    """
    _require_admin(actor)
    reason = _clean_reason(reason)
    unknown = sorted(set(changes) - set(VITALS_FIELDS))
    if unknown:
        raise PolicyError("policy_unknown_field", field=", ".join(unknown))
    vitals_policy()
    with booking_transaction():
        row = VitalsPolicy.objects.select_for_update().get(pk=POLICY_ROW_ID)
        before = {name: getattr(row, name) for name in VITALS_FIELDS}
        after = {**before, **changes}
        problems = vitals_problems(after)
        if problems:
            raise PolicyError("policy_invalid", problems=problems)
        changed = [name for name in VITALS_FIELDS if after[name] != before[name]]
        if changed:
            for name in changed:
                setattr(row, name, after[name])
            row.updated_by = actor
            row.save(update_fields=[*changed, "updated_by", "updated_at"])
            _audit_policy_change(
                row,
                "Vital-signs gate lines",
                {name: before[name] for name in changed},
                {name: after[name] for name in changed},
                actor=actor,
                request=request,
                reason=reason,
            )
    return VitalThresholds(**after)


def appointment_type_policy_change(
    *,
    actor: Any,
    type_id: int,
    needs_clearance: bool,
    reason: str,
    request: HttpRequest | None = None,
) -> AppointmentType:
    """Set whether an appointment type needs a clinician's clearance; returns the type.

    Admin role only, a non-empty reason (as policy_change_vitals). The type row is locked and
    compared with its locked value; one "policy.changed" audit event with before and after is
    written only when the value changes. Unknown type: PolicyError("policy_type_not_found").
    Bookings already made are not touched: booking re-checks the type at commit, and the visit
    services re-check clearance on the day.
    """
    _require_admin(actor)
    reason = _clean_reason(reason)
    if not isinstance(needs_clearance, bool):
        raise PolicyError("policy_unknown_field", field="needs_clearance")
    with booking_transaction():
        kind = AppointmentType.objects.select_for_update().filter(pk=type_id).first()
        if kind is None:
            raise PolicyError("policy_type_not_found")
        before = kind.needs_clearance
        if before != needs_clearance:
            kind.needs_clearance = needs_clearance
            kind.save(update_fields=["needs_clearance"])
            _audit_policy_change(
                kind,
                f"Appointment type “{kind.name}” ({kind.code})",
                {"needs_clearance": before},
                {"needs_clearance": needs_clearance},
                actor=actor,
                request=request,
                reason=reason,
            )
    return kind


def appointment_type_create(
    *,
    actor: Any,
    kind: AppointmentType,
    reason: str,
    request: HttpRequest | None = None,
) -> AppointmentType:
    """Save a new appointment type (an unsaved, already validated instance) and record whether it
    needs clearance as a policy change from nothing, so a new treatment type without the gate
    cannot appear unseen. Admin role only, a non-empty reason. (Seeding the clinic's own types
    at set-up, demo.seed, is not a change and writes no event.)"""
    _require_admin(actor)
    reason = _clean_reason(reason)
    if kind.pk is not None:
        raise PolicyError("policy_unknown_field", field="id")
    with booking_transaction():
        kind.save()
        _audit_policy_change(
            kind,
            f"New appointment type “{kind.name}” ({kind.code})",
            {"needs_clearance": None},
            {"needs_clearance": kind.needs_clearance},
            actor=actor,
            request=request,
            reason=reason,
        )
    return kind


def spacing_policy() -> Spacing:
    """The spacing of treatment visits (scheduling.spacing) as the clinic set it: the one place
    that reads COURSE_MIN_HOURS_BETWEEN and COURSE_MAX_PER_WEEK."""
    return Spacing(
        min_gap=dt.timedelta(hours=settings.COURSE_MIN_HOURS_BETWEEN),
        max_per_week=settings.COURSE_MAX_PER_WEEK,
    )
