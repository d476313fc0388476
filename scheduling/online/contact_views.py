"""How we contact you: the patient's own choice of email and text-message reminders, from their
page (reached by link, scheduling.online.patient_views). Saved through intake.consent, which
records each change with its time and source and re-plans the reminders still to come."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from intake.consent import consent_preferences_set
from intake.models import ConsentSource, Patient
from scheduling.online.patient_views import patient_page
from scheduling.online.public_forms import ContactPreferencesForm


@require_http_methods(["GET", "HEAD", "POST"])
@patient_page
def patient_contact(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    mobile = str(patient.mobile or "")
    initial = {"consent_email": patient.consent_email, "consent_sms": patient.consent_sms}
    posted = request.method == "POST"
    form = ContactPreferencesForm(request.POST if posted else None, initial=initial, mobile=mobile)
    if posted and form.is_valid():
        changed = consent_preferences_set(
            patient_id=patient.pk,
            email=form.cleaned_data["consent_email"],
            sms=form.cleaned_data["consent_sms"],
            source=ConsentSource.MANAGE_PAGE,
            request=request,
        )
        if changed:
            messages.success(request, _("Saved. This is how we contact you from now on."))
        return redirect("scheduling:patient_home", token=token)
    context = {"patient": patient, "token": token, "form": form}
    return render(
        request, "scheduling/patient/contact.html", context, status=400 if posted else 200
    )
