"""Telling a patient that the care team needs more information (a NEEDS_INFORMATION decision,
intake.decisions): an outbox row written in the decision's own transaction and sent by the
dispatch sweep like every message to a patient, so a broker outage delays the email and never
loses it.

intake never imports scheduling (design: scheduling -> intake -> propel), where the outbox lives:
scheduling registers the function that writes the row (`set_information_request_writer`, called
from scheduling.review_hooks at start-up), as it registers intake.review's consultation lookup.
The email is neutral (first name, the link, the clinic's phone): the clinician's message may be
about the patient's health, and the patient reads it on the questionnaire page.
"""

from __future__ import annotations

from collections.abc import Callable

from intake.models import ClearanceDecision

# Writes the outbox row for "the care team needs more information" about a patient, in the
# caller's transaction.
InformationRequestWriter = Callable[[int], object]

_writer: InformationRequestWriter | None = None


def set_information_request_writer(
    writer: InformationRequestWriter | None,
) -> InformationRequestWriter | None:
    """Register the outbox writer; returns the previous one (so a test can restore it)."""
    global _writer
    previous = _writer
    _writer = writer
    return previous


def information_request_plan(*, decision_id: int) -> None:
    """Write the email to the decision's patient into the outbox, in the caller's transaction.

    Raises RuntimeError when no writer is registered (scheduling not installed): the decision is
    then refused rather than recorded with a message that would never be sent.
    """
    if _writer is None:
        raise RuntimeError("no outbox writer registered for information requests")
    patient_id = ClearanceDecision.objects.values_list("patient_id", flat=True).get(pk=decision_id)
    _writer(patient_id)
