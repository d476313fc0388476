"""Telling a patient that the care team needs more information (a NEEDS_INFORMATION decision,
intake.decisions): the email is queued after the decision commits, sent by intake.tasks, and a
failure to queue or send is recorded in the audit log where staff can see it.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.urls import reverse

from intake.links import patient_link_token
from intake.models import ClearanceDecision
from propel.audit import audit_record
from propel.emails import send_email
from propel.tasks_queue import enqueue_on_commit

# Queued by name after commit (propel.tasks_queue): intake.tasks imports this module, not back.
INFORMATION_REQUEST_TASK = "intake.tasks.send_information_request"


def information_request_queue(decision_id: int) -> None:
    """After commit, queue the email telling the patient the care team needs more information."""
    # A broker outage must not turn the clinician's page into an error: the decision and the
    # reopened round are committed, the patient sees the request next time they open their link,
    # and the unsent email is recorded in the audit log.
    enqueue_on_commit(
        INFORMATION_REQUEST_TASK,
        decision_id,
        on_error=partial(_information_request_not_queued, decision_id),
    )


def _information_request_not_queued(decision_id: int, error: Exception) -> None:
    information_request_failed(decision_id=decision_id, error=error)


def information_request_send(*, decision_id: int) -> None:
    """Email the patient that the care team needs a little more information, with their link.

    The email is neutral: first name, the link, the clinic's phone. The clinician's message is not
    in it (it may be about their health); the patient reads it on the questionnaire page.
    """
    decision = ClearanceDecision.objects.select_related("patient").get(pk=decision_id)
    patient = decision.patient
    link = settings.SITE_URL + reverse("intake:start", args=[patient_link_token(patient)])
    send_email(
        name="information_request",
        to=[patient.email],
        context={
            "first_name": patient.first_name,
            "questionnaire_url": link,
            "valid_days": settings.PATIENT_LINK_MAX_AGE.days,
            "clinic_name": settings.CLINIC_NAME,
            "clinic_address": settings.CLINIC_ADDRESS,
            "clinic_phone": settings.CLINIC_PHONE,
        },
    )


def information_request_failed(*, decision_id: int, error: BaseException) -> None:
    """Record in the audit log that the patient could not be emailed about a request."""
    decision = ClearanceDecision.objects.filter(pk=decision_id).first()
    audit_record(
        action="clearance.information_request_not_sent",
        patient_id=decision.patient_id if decision else None,
        obj=decision,
        detail={"error": type(error).__name__},
    )
