"""A patient's link swaps its token for a session, so the token leaves the address bar, the
browser history and every later request line.

Opening a valid link stores the patient in the session (a new session key: no fixation) and the
pages' addresses carry the marker ME where the token was. Behind the marker the patient comes
from the session, which holds the link version it was opened with: revoking the patient's links
ends it at once (GONE). It also ends after PATIENT_SESSION_IDLE_MINUTES without a request
(TIMED_OUT), and a browser without one gets the same answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from intake.links import LinkCheck, LinkRefusal
from intake.models import Patient

ME = "me"  # the token segment of a page reached through the session
SESSION_KEY = "propel_patient"


def session_idle(seen_at: float, now: float, idle: dt.timedelta) -> bool:
    """Whether a session last seen at `seen_at` (epoch seconds) has been idle too long."""
    return now - seen_at >= idle.total_seconds()


def patient_session_open(request: HttpRequest, patient: Patient, *, now: dt.datetime) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "id": patient.pk,
        "link_version": patient.link_version,
        "seen_at": now.timestamp(),
    }


def _stored(request: HttpRequest) -> dict[str, Any] | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    fields = (data.get("id"), data.get("link_version"), data.get("seen_at"))
    if not all(isinstance(value, (int, float)) for value in fields):
        return None
    return data


def patient_session_check(request: HttpRequest, *, now: dt.datetime) -> LinkCheck:
    """The patient this browser's session holds (and a fresh idle clock), or why there is none."""
    data = _stored(request)
    idle = dt.timedelta(minutes=settings.PATIENT_SESSION_IDLE_MINUTES)
    if data is None or session_idle(data["seen_at"], now.timestamp(), idle):
        request.session.pop(SESSION_KEY, None)
        return LinkCheck(refusal=LinkRefusal.TIMED_OUT)
    patient = Patient.objects.filter(pk=data["id"]).first()
    if patient is None or patient.link_version != data["link_version"]:
        return LinkCheck(refusal=LinkRefusal.GONE)
    request.session[SESSION_KEY] = {**data, "seen_at": now.timestamp()}
    return LinkCheck(patient=patient)
