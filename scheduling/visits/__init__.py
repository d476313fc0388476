"""The day of a visit: arrival and check-in (front desk), the vital-signs gate, sign-off, the
infusion timeline and discharge (clinicians), and deferral with rebooking options.

Every service checks the actor's role itself (a view that forgets is still safe), runs in its own
transaction, locks the Visit row (so two clinicians acting on one visit take turns), claims state
changes with conditional updates, and writes one "visit.*" audit event naming the patient. Status
changes of the appointment go through scheduling.transitions (the lifecycle table in
scheduling.lifecycle decides who, when and what must be done first). Errors are
SchedulingError (the app's one domain error; `VisitError` is the same class) with visit_* codes.

Clinician alerts (emergency pathway, a reading past a hard-stop line during the infusion) are
emailed to CLINICIAN_ALERT_EMAILS after commit. The email says only that a patient in the clinic
needs a clinician now, and links to the visit.

Beside the services: the day sheet (day_sheet_views) and the visit screen (screen builds what it
shows; visit_views and item_views take its steps; forms). Shared with other wings, so in the core:
the lifecycle door (scheduling.transitions), the day-of items it reads (scheduling.day_of), the
patient's pre-infusion check-in (scheduling.check_ins) and the pure vital-signs rules
(scheduling.vitals).

The package imports its modules lazily (PEP 562 `__getattr__`), so importing one visit module
does not load them all.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "check_in_answers": "arrival",
    "visit_check_in": "arrival",
    "ARRIVAL_ROLES": "common",
    "CLINICAL_ROLES": "common",
    "DEFER_ROLES": "common",
    "VisitError": "common",
    "thresholds_from_settings": "common",
    "visit_for": "common",
    "BP_NEXT_STEP": "deferral",
    "Deferral": "deferral",
    "next_step_for": "deferral",
    "rebooking_options": "deferral",
    "visit_defer": "deferral",
    "gate_assessment": "gate",
    "visit_record_vitals": "gate",
    "visit_sign_off": "gate",
    "visit_can_start": "infusion",
    "visit_discharge": "infusion",
    "visit_end_infusion": "infusion",
    "visit_start": "infusion",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
