"""The front desk's "new patient" page (a caller on the phone): the caller's details, the likely
duplicates shown before anything is saved (intake.duplicates), each with "Use this patient", and a
deliberate "None of these, create new"; then the patient (intake.patient_registration) and the
questionnaire link by email and/or text (the outbox, scheduling.reminder_plan
.patient_message_plan) in one transaction, and on to booking the consultation
(scheduling:appointment_new). Needs Capability.CALENDAR; shows contact details only, never answers.

A second submit of the same caller (a double click, the back button) finds the patient the first
one created and shows it as a duplicate, so it never creates a second patient unless the front
desk says so again, having seen it; two submits at the very same time take turns on a lock
(intake.patient_registration.registration_serialise) around the check and the creation.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from intake.duplicates import likely_duplicates
from intake.paperwork_models import Referral
from intake.patient_registration import patient_register, registration_serialise
from intake.referrals import (
    ReferralError,
    new_patient_initial,
    referral_for_new_patient,
    referral_link_patient,
)
from intake.registration_forms import SEND_EMAIL, SEND_SMS, NewPatientForm
from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.models import ReminderChannel, ReminderKind
from scheduling.reminder_plan import patient_message_plan

PAGE = "scheduling/calendar/patient_new.html"
CHANNELS = {SEND_EMAIL: ReminderChannel.EMAIL, SEND_SMS: ReminderChannel.SMS}


@staff_required(Capability.CALENDAR)
def patient_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # Opened from a referral's page (?referral=<id>: an id, no patient detail in the address):
        # the referral's details filled in, and the referral linked to the patient created.
        referral = referral_for_new_patient(request, request.GET.get("referral"))
        initial = new_patient_initial(referral) if referral is not None else None
        return render(request, PAGE, {"form": NewPatientForm(initial=initial), "duplicates": []})
    form = NewPatientForm(request.POST)
    if not form.is_valid():
        return render(request, PAGE, {"form": form, "duplicates": []}, status=400)
    caller = form.caller()
    with transaction.atomic():
        registration_serialise(caller.date_of_birth)
        duplicates = likely_duplicates(
            first_name=caller.first_name,
            last_name=caller.last_name,
            date_of_birth=caller.date_of_birth,
            email=caller.email,
            mobile=caller.mobile,
        )
        shown = [d.patient.pk for d in duplicates]
        if set(shown) <= form.cleaned_data["confirmed_new"]:
            patient = patient_register(caller, request=request)
            _referral_link(request, form.cleaned_data["referral"], patient.pk)
            for choice in form.cleaned_data["send_link"]:
                patient_message_plan(
                    patient_id=patient.pk,
                    kind=ReminderKind.QUESTIONNAIRE_LINK,
                    channel=CHANNELS[choice],
                )
        else:
            audit_shown(request, shown)
            context = {"form": form, "duplicates": duplicates, "confirm": ",".join(map(str, shown))}
            return render(request, PAGE, context)
    messages.success(
        request, _("%(name)s was added. Now book the consultation.") % {"name": patient}
    )
    return redirect(reverse("scheduling:appointment_new") + f"?patient={patient.pk}")


def _referral_link(request: HttpRequest, referral_id: int | None, patient_id: int) -> None:
    """Link the referral the page was opened from to the new patient (its letter with it)."""
    if referral_id is None:
        return
    try:
        referral_link_patient(referral_id=referral_id, patient_id=patient_id, request=request)
    except (ReferralError, Referral.DoesNotExist):
        messages.warning(
            request, _("The referral could not be linked: link it from the referral's page.")
        )
