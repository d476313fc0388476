"""The day of a visit: arrival and check-in (front desk), the vital-signs gate, sign-off, the
infusion timeline and discharge (clinicians), and deferral with rebooking options.

Every service checks the actor's role itself (a view that forgets is still safe), runs in its own
transaction, locks the Visit row (so two clinicians acting on one visit take turns), claims state
changes with conditional updates, and writes one "visit.*" audit event naming the patient. Status
changes of the appointment go through scheduling.booking.appointment_transition. Errors are
SchedulingError (the app's one domain error; `VisitError` is the same class) with visit_* codes.

Clinician alerts (emergency pathway, a reading past a hard-stop line during the infusion) are
emailed to CLINICIAN_ALERT_EMAILS after commit. The email says only that a patient in the clinic
needs a clinician now, and links to the visit.
"""

from scheduling.visits.arrival import check_in_answers, visit_check_in
from scheduling.visits.common import (
    ARRIVAL_ROLES,
    CLINICAL_ROLES,
    VisitError,
    thresholds_from_settings,
    visit_for,
)
from scheduling.visits.deferral import (
    BP_NEXT_STEP,
    Deferral,
    next_step_for,
    rebooking_options,
    visit_defer,
)
from scheduling.visits.gate import gate_assessment, visit_record_vitals, visit_sign_off
from scheduling.visits.infusion import (
    visit_can_start,
    visit_discharge,
    visit_end_infusion,
    visit_start,
)

__all__ = [
    "ARRIVAL_ROLES",
    "BP_NEXT_STEP",
    "CLINICAL_ROLES",
    "Deferral",
    "VisitError",
    "check_in_answers",
    "gate_assessment",
    "next_step_for",
    "rebooking_options",
    "thresholds_from_settings",
    "visit_can_start",
    "visit_check_in",
    "visit_defer",
    "visit_discharge",
    "visit_end_infusion",
    "visit_for",
    "visit_record_vitals",
    "visit_sign_off",
    "visit_start",
]
