"""A patient's own page, reached by the signed link in their emails (intake.links): their
appointments, a calendar file for each, moving or cancelling a consultation online, and the short
check-in before each infusion (scheduling.check_ins).

Every page here carries the token in its path, so every response, refusals included, says
Cache-Control: no-store and Referrer-Policy: same-origin. A token that is invalid, expired, tampered
with or revoked, and an appointment that is not the patient's, get the same 404 page: no hint which
check failed, and no data.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from intake.links import patient_from_token
from intake.models import Patient, SubmissionKind
from intake.questions import section_keys
from intake.selectors import questionnaire_status
from scheduling.check_ins import check_in_open, check_in_states
from scheduling.errors import SchedulingError
from scheduling.ics import CONTENT_TYPE, appointments_ics
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentStatus
from scheduling.online.changes import online_consultation_cancel, online_consultation_reschedule
from scheduling.online.offer import nearest_alternatives, slot_week
from scheduling.online.public_forms import CancelForm, RescheduleForm, SlotChoiceForm
from scheduling.online.rules import change_refusal
from scheduling.online.slot_page import week_context
from scheduling.slots import zone_label

logger = logging.getLogger(__name__)

PatientView = Callable[..., HttpResponse]


def private(response: HttpResponse) -> HttpResponse:
    """Keep a page reached by a secret in its address out of caches, Referer headers and logs.

    Django logs every 4xx response with its path (django.utils.log.log_response), which here
    would write a patient's link into the log; this logs the status alone and marks the response
    as logged.
    """
    add_never_cache_headers(response)
    # same-origin, not no-referrer: the token still never leaves the site, and browsers keep
    # sending a real Origin on this site's own form posts (with no-referrer Chromium sends
    # "Origin: null", which Django's CSRF check rightly refuses; tests/e2e caught it).
    response["Referrer-Policy"] = "same-origin"
    if response.status_code >= 400:
        logger.warning("patient page answered %s (address withheld)", response.status_code)
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/patient/link_invalid.html", status=404)


class _NotTheirs(Exception):
    """The appointment id in the address is not one of this patient's."""


def patient_page(view: PatientView) -> PatientView:
    """Resolve the token to its patient (or the 404 page) and make the response private."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = patient_from_token(token)
        if patient is None:
            return private(_not_found(request))
        try:
            return private(view(request, patient, token, *args, **kwargs))
        except _NotTheirs:
            return private(_not_found(request))

    return wrapped


def _own(patient: Patient, appointment_id: int) -> Appointment:
    appointment = (
        patient.appointments.select_related("appointment_type", "clinician")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        raise _NotTheirs
    return appointment


def _refusal(appointment: Appointment, now: dt.datetime) -> str | None:
    return change_refusal(
        self_bookable=appointment.appointment_type.self_bookable,
        status=appointment.status,
        start=appointment.start,
        now=now,
        cutoff=settings.ONLINE_CHANGE_CUTOFF,
    )


@dataclass(frozen=True)
class AppointmentRow:
    appointment: Appointment
    changeable: bool
    check_in: str = ""  # a scheduling.check_ins.CheckInState when the visit's check-in is open


@require_http_methods(["GET", "HEAD"])
@patient_page
def patient_home(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    now = timezone.now()
    appointments = list(
        patient.appointments.select_related("appointment_type", "clinician").order_by("start")
    )
    check_ins = check_in_states(appointments, now=now)
    upcoming = [
        AppointmentRow(a, _refusal(a, now) is None, check_ins.get(a.pk, ""))
        for a in appointments
        if a.status in ACTIVE_STATUSES and a.end > now
    ]
    upcoming_ids = {row.appointment.pk for row in upcoming}
    earlier = [
        AppointmentRow(a, changeable=False)
        for a in reversed(appointments)
        if a.pk not in upcoming_ids
    ]
    return render(
        request,
        "scheduling/patient/home.html",
        {
            "patient": patient,
            "token": token,
            "upcoming": upcoming,
            "earlier": earlier,
            "zone": zone_label(),
            "questionnaire": questionnaire_status(patient.pk),
            "questionnaire_url": reverse("intake:start", args=[token]),
            "cutoff_hours": int(settings.ONLINE_CHANGE_CUTOFF.total_seconds() // 3600),
            "check_in_steps": len(section_keys(SubmissionKind.CHECK_IN)),
        },
    )


@require_http_methods(["GET", "HEAD"])
@patient_page
def patient_check_in(
    request: HttpRequest, patient: Patient, token: str, appointment_id: int
) -> HttpResponse:
    """Open (once) the check-in for one of the patient's own visits, then go to its questions.
    When it is not open (too early, the visit started or is no longer booked), a calm page says
    why and, when too early, exactly when it opens."""
    appointment = _own(patient, appointment_id)
    try:
        submission = check_in_open(appointment_id=appointment.pk)
    except SchedulingError as error:
        return render(
            request,
            "scheduling/patient/check_in_refused.html",
            {
                "token": token,
                "appointment": appointment,
                "message": error.message,
                "too_early": error.code == "check_in_too_early",
                "zone": zone_label(),
            },
        )
    return redirect("intake:check_in_start", token=token, round=submission.round)


@require_http_methods(["GET", "HEAD"])
@patient_page
def patient_ics(
    request: HttpRequest, patient: Patient, token: str, appointment_id: int
) -> HttpResponse:
    appointment = _own(patient, appointment_id)
    response = HttpResponse(
        appointments_ics([appointment], now=timezone.now()), content_type=CONTENT_TYPE
    )
    day = timezone.localdate(appointment.start).isoformat()
    response["Content-Disposition"] = f'attachment; filename="appointment-{day}.ics"'
    return response


def _when(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.start)
    return _("%(date)s at %(time)s") % {
        "date": formats.date_format(local, "l, F j"),
        "time": formats.time_format(local, "g:i A"),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@patient_page
def patient_cancel(
    request: HttpRequest, patient: Patient, token: str, appointment_id: int
) -> HttpResponse:
    appointment = _own(patient, appointment_id)
    context: dict[str, Any] = {
        "appointment": appointment,
        "token": token,
        "zone": zone_label(),
    }
    if appointment.status == AppointmentStatus.CANCELLED:
        messages.info(request, _("This appointment is already cancelled."))
        return redirect("scheduling:patient_home", token=token)
    form = CancelForm(request.POST if request.method == "POST" else None)
    refusal = _refusal(appointment, timezone.now())
    if refusal is None and request.method == "POST" and form.is_valid():
        try:
            online_consultation_cancel(
                patient_id=patient.pk,
                appointment_id=appointment.pk,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except SchedulingError as error:
            context["message"] = error.message
            return render(request, "scheduling/patient/cancel.html", context, status=409)
        messages.success(
            request,
            _("Your appointment on %(when)s is cancelled. We have emailed you a confirmation.")
            % {"when": _when(appointment)},
        )
        return redirect("scheduling:patient_home", token=token)
    if refusal is not None:
        context["message"] = _refusal_message(refusal)
        status = 409 if request.method == "POST" else 200
        return render(request, "scheduling/patient/cancel.html", context, status=status)
    context["form"] = form
    return render(request, "scheduling/patient/cancel.html", context)


def _refusal_message(refusal: str) -> str:
    hours = int(settings.ONLINE_CHANGE_CUTOFF.total_seconds() // 3600)
    return SchedulingError(refusal, hours=hours, phone=settings.CLINIC_PHONE).message


def _refused_page(
    request: HttpRequest, appointment: Appointment, token: str, message: str, status: int
) -> HttpResponse:
    return render(
        request,
        "scheduling/patient/reschedule.html",
        {"appointment": appointment, "token": token, "message": message},
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
@patient_page
def patient_reschedule(
    request: HttpRequest, patient: Patient, token: str, appointment_id: int
) -> HttpResponse:
    """Choose a new time: one week of free consultation times."""
    appointment = _own(patient, appointment_id)
    refusal = _refusal(appointment, timezone.now())
    if refusal is not None:
        return _refused_page(request, appointment, token, _refusal_message(refusal), status=200)
    try:
        week_start = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        week_start = None
    week = slot_week(
        appointment.appointment_type,
        week=week_start,
        now=timezone.now(),
        patient_id=patient.pk,
    )
    base = reverse("scheduling:patient_reschedule", args=[token, appointment.pk])
    return render(
        request,
        "scheduling/patient/reschedule.html",
        {
            "appointment": appointment,
            "token": token,
            **week_context(week, base),
            "confirm_url": reverse(
                "scheduling:patient_reschedule_confirm", args=[token, appointment.pk]
            ),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@patient_page
def patient_reschedule_confirm(
    request: HttpRequest, patient: Patient, token: str, appointment_id: int
) -> HttpResponse:
    """ "Move it to this time?", then the move itself (idempotent on the form's key)."""
    appointment = _own(patient, appointment_id)
    picker = redirect("scheduling:patient_reschedule", token=token, appointment_id=appointment.pk)
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if not form.is_valid():
            return picker
        start = form.cleaned_data["start"]
        try:
            new = online_consultation_reschedule(
                patient_id=patient.pk,
                appointment_id=appointment.pk,
                start=start,
                idempotency_key=form.cleaned_data["key"],
                request=request,
            )
        except SchedulingError as error:
            if error.code not in {"slot_gone", "too_soon", "too_far", "own_clash"}:
                return _refused_page(request, appointment, token, error.message, status=409)
            return _confirm_page(
                request, appointment, token, start, status=409, message=error.message
            )
        messages.success(
            request,
            _("Your consultation has moved to %(when)s. We have emailed you the new details.")
            % {"when": _when(new)},
        )
        return redirect("scheduling:patient_home", token=token)
    choice = SlotChoiceForm(request.GET)
    if not choice.is_valid():
        return picker
    refusal = _refusal(appointment, timezone.now())
    if refusal is not None:
        return _refused_page(request, appointment, token, _refusal_message(refusal), status=200)
    return _confirm_page(request, appointment, token, choice.cleaned_data["start"])


def _confirm_page(
    request: HttpRequest,
    appointment: Appointment,
    token: str,
    start: dt.datetime,
    *,
    status: int = 200,
    message: str = "",
) -> HttpResponse:
    alternatives = (
        nearest_alternatives(
            appointment.appointment_type,
            start=start,
            now=timezone.now(),
            patient_id=appointment.patient_id,
        )
        if message
        else []
    )
    form = RescheduleForm(initial={"start": start.isoformat(), "key": secrets.token_urlsafe(24)})
    return render(
        request,
        "scheduling/patient/reschedule_confirm.html",
        {
            "appointment": appointment,
            "token": token,
            "start": start,
            "form": form,
            "message": message,
            "alternatives": alternatives,
            "zone": zone_label(),
            "confirm_url": reverse(
                "scheduling:patient_reschedule_confirm", args=[token, appointment.pk]
            ),
        },
        status=status,
    )
