"""Whether a patient is cleared for treatment that needs a clinician's clearance.

Clearance decisions arrive with the clinician review issue. Until a decision can be recorded the
answer is always no, so the booking service refuses every appointment type that needs clearance:
the gate fails closed rather than open.
"""

from __future__ import annotations

import datetime as dt


def has_valid_clearance(patient_id: int, at: dt.datetime) -> bool:
    return False
