"""A patient's own page, reached by the signed link in their emails (intake.links): their
appointments, a calendar file for each, moving or cancelling a consultation online, and the short
check-in before each infusion (scheduling.check_ins).

Every page here is reached through intake.link_pages: a link's token is swapped for a session and
the pages carry the marker `me` where it was; every response, refusals included, is private
(no-store, private, no Referer to other sites). An invalid token and an appointment that is not
the patient's get the same 404 page; a revoked, superseded or expired link 410; a timed-out
session 401.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from intake.link_pages import link_invalid, patient_link_page
from intake.models import Patient, SubmissionKind
from intake.questions import section_keys
from intake.selectors import questionnaire_progress
from propel import formatting
from propel.secret_addresses import secret_address
from scheduling.check_ins import check_in_open, check_in_states
from scheduling.errors import SchedulingError
from scheduling.ics_download import appointment_ics_download
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentStatus
from scheduling.online.changes import online_consultation_cancel, online_consultation_reschedule
from scheduling.online.guards import change_cutoff_hours, change_refused
from scheduling.online.offer import nearest_alternatives
from scheduling.online.public_forms import CancelForm, RescheduleForm, SlotChoiceForm
from scheduling.online.slot_page import day_param, days_context, offered_days
from scheduling.online.visit_status import (
    VisitStatus,
    appointment_status,
    appointment_status_now,
    moves_of,
)
from scheduling.paperwork import next_visit_missing
from scheduling.slots import clinic_today, zone_label

PatientView = Callable[..., HttpResponse]
# Refusals of a move after which the confirm page offers the nearest free times; any other
# refusal (the appointment can no longer be changed online) shows the plain refusal page.
OFFER_ALTERNATIVES = frozenset({"slot_gone", "too_soon", "too_far", "own_clash"})

# A booking page whose address is its secret (scheduling.online.public_views): private, no path
# in the log (propel.secret_addresses).
patient_address = secret_address(what="patient page")


# A page of the patient's own, by link or by the session a link opened (intake.link_pages): the
# view gets the patient and the ME marker for its links.
patient_page = patient_link_page


def own_appointment_page(view: PatientView) -> PatientView:
    """patient_page for an address naming one of the patient's appointments: the view gets the
    appointment (type and clinician loaded) instead of its id, or the 404 page answers when the
    appointment is not the patient's."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, patient: Patient, token: str, appointment_id: int
    ) -> HttpResponse:
        appointment = (
            patient.appointments.select_related("appointment_type", "clinician")
            .filter(pk=appointment_id)
            .first()
        )
        if appointment is None:
            return link_invalid(request)
        return view(request, patient, token, appointment)

    return patient_page(wrapped)


def _visit_off(
    request: HttpRequest, appointment: Appointment, token: str, status: int = 200
) -> HttpResponse:
    """The page of a visit that is off: what became of it and the way to book again."""
    visit = appointment_status_now(appointment, now=timezone.now())
    context = {"token": token, "appointment": appointment, "visit": visit}
    return render(request, "scheduling/patient/visit_off.html", context, status=status)


def visit_off_page(view: PatientView) -> PatientView:
    """For a page that changes or prepares a visit (move, cancel, check-in): shown when the
    visit is off (cancelled, moved, missed, deferred), a page saying so with the way to book
    again instead (scheduling.online.visit_status). A POST goes to the view, whose service
    answers a repeat (a double click) as the first and refuses anything else."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, patient: Patient, token: str, appointment: Appointment
    ) -> HttpResponse:
        if request.method == "POST" or appointment.status in ACTIVE_STATUSES:
            return view(request, patient, token, appointment)
        return _visit_off(request, appointment, token)

    return wrapped


@dataclass(frozen=True)
class AppointmentRow:
    appointment: Appointment
    changeable: bool
    check_in: str = ""  # a scheduling.check_ins.CheckInState when the visit's check-in is open
    visit: VisitStatus | None = None  # earlier rows: what became of the visit


def appointment_rows(
    appointments: list[Appointment], *, now: dt.datetime
) -> tuple[list[AppointmentRow], list[AppointmentRow]]:
    """The patient's appointments (in start order) as upcoming rows, each saying whether it can
    be changed online and its check-in state, and earlier rows, latest first."""
    check_ins = check_in_states(appointments, now=now)
    moves = moves_of(a for a in appointments if a.status == AppointmentStatus.CANCELLED)
    upcoming = [
        AppointmentRow(a, change_refused(a, now) is None, check_ins.get(a.pk, ""))
        for a in appointments
        if a.status in ACTIVE_STATUSES and a.end > now
    ]
    upcoming_ids = {row.appointment.pk for row in upcoming}
    earlier = [
        AppointmentRow(
            a, changeable=False, visit=appointment_status(a, now=now, moved_to=moves.get(a.pk))
        )
        for a in reversed(appointments)
        if a.pk not in upcoming_ids
    ]
    return upcoming, earlier


@require_http_methods(["GET", "HEAD"])
@patient_page
def patient_home(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    appointments = patient.appointments.select_related("appointment_type", "clinician")
    upcoming, earlier = appointment_rows(list(appointments.order_by("start")), now=timezone.now())
    context = {
        "patient": patient,
        "token": token,
        "upcoming": upcoming,
        "earlier": earlier,
        "zone": zone_label(),
        "questionnaire": questionnaire_progress(patient.pk),
        "questionnaire_url": reverse("intake:start", args=[token]),
        "cutoff_hours": change_cutoff_hours(),
        "check_in_steps": len(section_keys(SubmissionKind.CHECK_IN)),
        # "Before your visit on <date>": what to sign, upload or bring (scheduling.paperwork).
        "paperwork": next_visit_missing(
            [row.appointment for row in upcoming], today=clinic_today()
        ),
    }
    return render(request, "scheduling/patient/home.html", context)


@require_http_methods(["GET", "HEAD"])
@own_appointment_page
@visit_off_page
def patient_check_in(
    request: HttpRequest, patient: Patient, token: str, appointment: Appointment
) -> HttpResponse:
    """Open (once) the check-in for one of the patient's own visits, then go to its questions.
    When it is not open (too early, the visit started or is no longer booked), a calm page says
    why and, when too early, exactly when it opens."""
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
@own_appointment_page
def patient_ics(
    request: HttpRequest, patient: Patient, token: str, appointment: Appointment
) -> HttpResponse:
    return appointment_ics_download(appointment)


def _when(appointment: Appointment) -> str:
    return _("%(date)s at %(time)s") % {
        "date": formatting.local_date(appointment.start),
        "time": formatting.local_time(appointment.start, zone=True),
    }


def _home_saying(request: HttpRequest, token: str, message: str) -> HttpResponse:
    """Back to the patient's page, which says `message` (a change went through)."""
    messages.success(request, message)
    return redirect("scheduling:patient_home", token=token)


def _cancel_page(
    request: HttpRequest,
    appointment: Appointment,
    token: str,
    *,
    form: CancelForm | None = None,
    message: str = "",
    status: int = 200,
) -> HttpResponse:
    """The cancel page: the form, or (with `message`) why the appointment cannot be cancelled."""
    context = {"appointment": appointment, "token": token, "zone": zone_label()}
    if message:
        context["message"] = message
    else:
        context["form"] = form
    return render(request, "scheduling/patient/cancel.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@own_appointment_page
@visit_off_page
def patient_cancel(
    request: HttpRequest, patient: Patient, token: str, appointment: Appointment
) -> HttpResponse:
    if appointment.status == AppointmentStatus.CANCELLED:  # the button pressed twice
        messages.info(request, _("This appointment is already cancelled."))
        return redirect("scheduling:patient_home", token=token)
    posted = request.method == "POST"
    refused = change_refused(appointment, timezone.now())
    if refused is not None:
        status = 409 if posted else 200
        return _cancel_page(request, appointment, token, message=refused.message, status=status)
    form = CancelForm(request.POST if posted else None)
    if not (posted and form.is_valid()):
        return _cancel_page(request, appointment, token, form=form)
    try:
        online_consultation_cancel(
            patient_id=patient.pk,
            appointment_id=appointment.pk,
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except SchedulingError as error:
        return _cancel_page(request, appointment, token, message=error.message, status=409)
    done = _("Your appointment on %(when)s is cancelled. We have emailed you a confirmation.")
    return _home_saying(request, token, done % {"when": _when(appointment)})


def _refused_page(
    request: HttpRequest, appointment: Appointment, token: str, message: str, status: int = 200
) -> HttpResponse:
    if appointment.status not in ACTIVE_STATUSES:
        return _visit_off(request, appointment, token, status=status)
    return render(
        request,
        "scheduling/patient/reschedule.html",
        {"appointment": appointment, "token": token, "message": message},
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
@own_appointment_page
@visit_off_page
def patient_reschedule(
    request: HttpRequest, patient: Patient, token: str, appointment: Appointment
) -> HttpResponse:
    """Choose a new time: one day of free consultation times and a row of days."""
    now = timezone.now()
    if (refused := change_refused(appointment, now)) is not None:
        return _refused_page(request, appointment, token, refused.message)
    days = offered_days(
        appointment.appointment_type,
        day=day_param(request.GET.get("day")),
        now=now,
        patient_id=patient.pk,
    )
    base = reverse("scheduling:patient_reschedule", args=[token, appointment.pk])
    context = {
        "appointment": appointment,
        "token": token,
        **days_context(days, base),
        "confirm_url": reverse(
            "scheduling:patient_reschedule_confirm", args=[token, appointment.pk]
        ),
    }
    return render(request, "scheduling/patient/reschedule.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@own_appointment_page
@visit_off_page
def patient_reschedule_confirm(
    request: HttpRequest, patient: Patient, token: str, appointment: Appointment
) -> HttpResponse:
    """ "Move it to this time?", then the move itself (idempotent on the form's key)."""
    if request.method == "POST":
        return _reschedule(request, patient, token, appointment)
    choice = SlotChoiceForm(request.GET)
    if not choice.is_valid():
        return redirect("scheduling:patient_reschedule", token=token, appointment_id=appointment.pk)
    if (refused := change_refused(appointment, timezone.now())) is not None:
        return _refused_page(request, appointment, token, refused.message)
    return _confirm_page(request, appointment, token, choice.cleaned_data["start"])


def _reschedule(
    request: HttpRequest, patient: Patient, token: str, appointment: Appointment
) -> HttpResponse:
    """The confirm page's POST: the move, or the refusal (with the nearest free times when the
    chosen one is gone)."""
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        return redirect("scheduling:patient_reschedule", token=token, appointment_id=appointment.pk)
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
        if error.code not in OFFER_ALTERNATIVES:
            return _refused_page(request, appointment, token, error.message, status=409)
        return _confirm_page(request, appointment, token, start, status=409, message=error.message)
    done = _("Your consultation has moved to %(when)s. We have emailed you the new details.")
    return _home_saying(request, token, done % {"when": _when(new)})


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
