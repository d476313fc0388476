"""The waitlist's pages: the patient's own (by their signed link: ask for an earlier time, see
and accept a time offered, leave the list) and the front desk's (/staff/waitlist/: add a
caller, remove, reorder, see every offer and its state)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from intake.link_pages import patient_link_page
from intake.models import Patient
from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.calendar.forms import PatientSearchForm
from scheduling.models import (
    AppointmentStatus,
    AppointmentType,
    BookedVia,
    EntryState,
    InviteState,
    WaitlistEntry,
    WaitlistInvite,
)
from scheduling.waitlist.forms import StaffWaitlistForm, StaffWishesForm, WaitlistAskForm
from scheduling.waitlist.services import (
    WaitlistError,
    entry_add,
    entry_remove,
    entry_shift,
    entry_update,
    offer_accept,
)

GONE_STATUS = 410


def _patient_types(patient: Patient) -> QuerySet[AppointmentType]:
    """What a patient may ask to have earlier: a self-bookable visit, or a visit of a type
    they already have booked (a course session)."""
    booked = patient.appointments.filter(status=AppointmentStatus.BOOKED).values(
        "appointment_type_id"
    )
    return AppointmentType.objects.filter(active=True).filter(
        Q(self_bookable=True) | Q(pk__in=booked)
    )


def _entries(patient_filter: Q) -> list[WaitlistEntry]:
    invites = WaitlistInvite.objects.select_related("offer").order_by("-pk")
    return list(
        WaitlistEntry.objects.filter(patient_filter, state=EntryState.WAITING)
        .select_related("patient", "appointment_type", "clinician", "appointment")
        .prefetch_related(Prefetch("invites", queryset=invites))
        .order_by("position", "created_at", "pk")
    )


@require_http_methods(["GET", "HEAD", "POST"])
@patient_link_page
def patient_waitlist(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    types = _patient_types(patient)
    posted = request.method == "POST"
    action = request.POST.get("action", "") if posted else ""
    if action == "accept":
        return _accept(request, patient, token)
    if action == "remove":
        entry_id = _int(request.POST.get("entry"))
        if entry_id and WaitlistEntry.objects.filter(pk=entry_id, patient=patient).exists():
            entry_remove(entry_id)
            messages.success(request, _("You are off the waitlist for that visit."))
        return redirect("scheduling:patient_waitlist", token=token)
    form = WaitlistAskForm(request.POST if action == "ask" else None, types=types)
    if action == "ask" and form.is_valid():
        _add_from(form.cleaned_data, patient=patient, via=BookedVia.ONLINE)
        messages.success(
            request, _("You are on the waitlist. We will email you when a time is free.")
        )
        return redirect("scheduling:patient_waitlist", token=token)
    now = timezone.now()
    entries = _entries(Q(patient=patient))
    offers = [
        invite
        for entry in entries
        for invite in entry.invites.all()
        if invite.state == InviteState.SENT and invite.offer.is_open(now)
    ]
    context = {
        "patient": patient,
        "token": token,
        "form": form,
        "entries": entries,
        "offers": offers,
    }
    return render(
        request, "scheduling/waitlist/patient.html", context, status=400 if action else 200
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _accept(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    invite_id = _int(request.POST.get("invite"))
    try:
        if invite_id is None:
            raise WaitlistError("gone")
        offer_accept(invite_id=invite_id, patient=patient, request=request)
    except WaitlistError as error:
        context = {"patient": patient, "token": token, "code": error.code, "reason": error.message}
        status = GONE_STATUS if error.code in ("gone", "expired") else 409
        return render(request, "scheduling/waitlist/offer_gone.html", context, status=status)
    messages.success(request, _("It is yours: the earlier time is booked."))
    return redirect("scheduling:patient_home", token=token)


def _add_from(data: dict, *, patient: Patient, via: str, clinician_id: int | None = None) -> None:
    appointment_type = data["appointment_type"]
    booked = (
        patient.appointments.filter(
            appointment_type=appointment_type,
            status=AppointmentStatus.BOOKED,
            start__gt=timezone.now(),
        )
        .order_by("start")
        .first()
    )
    entry_add(
        patient_id=patient.pk,
        appointment_type=appointment_type,
        appointment=booked,
        clinician_id=clinician_id,
        weekdays="".join(data.get("weekdays") or []),
        part_of_day=data["part_of_day"],
        earliest_date=data.get("earliest_date"),
        latest_date=data.get("latest_date"),
        via=via,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required(Capability.CALENDAR)
def staff_waitlist(request: HttpRequest) -> HttpResponse:
    types = AppointmentType.objects.filter(active=True)
    posted = request.method == "POST"
    action = request.POST.get("action", "") if posted else ""
    entry_id = _int(request.POST.get("entry")) if posted else None
    if action in ("remove", "up", "down") and entry_id:
        if action == "remove":
            entry_remove(entry_id)
        else:
            entry_shift(entry_id, up=action == "up")
        return redirect("scheduling:waitlist")
    if action == "edit" or (not posted and request.GET.get("edit")):
        return _edit(request, entry_id or _int(request.GET.get("edit")))
    chosen = _chosen_patient(request.POST if action == "add" else request.GET)
    initial = {"patient": chosen.pk} if chosen else None
    form = StaffWaitlistForm(
        request.POST if action == "add" else None, types=types, initial=initial
    )
    if action == "add" and form.is_valid():
        clinician = form.cleaned_data.get("clinician")
        _add_from(
            form.cleaned_data,
            patient=form.cleaned_data["patient"],
            via=BookedVia.STAFF,
            clinician_id=clinician.pk if clinician else None,
        )
        messages.success(request, _("Added to the waitlist."))
        return redirect("scheduling:waitlist")
    # The caller is found with the new-appointment page's search: only the matches are named.
    search = PatientSearchForm(request.GET if "q" in request.GET else None)
    matches = list(search.matches()) if search.is_valid() else []
    entries = _entries(Q())
    # The list, the search's matches and the chosen caller name patients: one read audit row.
    shown = {entry.patient_id for entry in entries} | {patient.pk for patient in matches}
    audit_shown(request, sorted(shown | ({chosen.pk} if chosen else set())))
    context = {
        "entries": entries,
        "form": form,
        "search": search,
        "matches": matches,
        "chosen": chosen,
        "now": timezone.now(),
    }
    status = 400 if action or search.errors else 200
    return render(request, "scheduling/waitlist/staff.html", context, status=status)


def _chosen_patient(data: QueryDict) -> Patient | None:
    """The caller chosen from the search's matches (?patient=, or the add form's hidden id)."""
    patient_id = _int(data.get("patient"))
    return Patient.objects.filter(pk=patient_id).first() if patient_id else None


def _edit(request: HttpRequest, entry_id: int | None) -> HttpResponse:
    """The front desk's edit of one waiting entry's wishes (GET ?edit=<id>, POST action=edit)."""
    entry = (
        WaitlistEntry.objects.select_related("patient", "appointment_type")
        .filter(pk=entry_id or 0, state=EntryState.WAITING)
        .first()
    )
    if entry is None:
        messages.error(request, _("That patient is no longer waiting."))
        return redirect("scheduling:waitlist")
    posted = request.method == "POST"
    initial = {
        "weekdays": list(entry.weekdays),
        "part_of_day": entry.part_of_day,
        "earliest_date": entry.earliest_date,
        "latest_date": entry.latest_date,
        "clinician": entry.clinician_id,
    }
    form = StaffWishesForm(request.POST if posted else None, initial=initial)
    if posted and form.is_valid():
        data = form.cleaned_data
        entry_update(
            entry.pk,
            weekdays="".join(data["weekdays"]),
            part_of_day=data["part_of_day"],
            earliest_date=data["earliest_date"],
            latest_date=data["latest_date"],
            clinician=data["clinician"],
        )
        messages.success(request, _("Saved."))
        return redirect("scheduling:waitlist")
    audit_shown(request, [entry.patient_id])
    context = {"entry": entry, "form": form}
    return render(request, "scheduling/waitlist/edit.html", context, status=400 if posted else 200)
