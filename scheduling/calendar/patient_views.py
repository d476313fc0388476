"""The staff patient page (front desk, clinicians, admin): who the patient is, how to reach them,
whether their links work, and their appointments. No questionnaire answers, ever: those are on
the clinician's chart (intake:chart). Every showing is audited (propel.audit.audit_patients_viewed).

The message history lists what the outbox sent or tried to send the patient
(scheduling.message_history): kind, visit, times, channel, state and a safe summary of any error,
never a message's text; a failed one has "Send again" (scheduling.reminders' resend action, which
comes back here).

"Revoke all links" ends every link sent to the patient so far and every page a link opened
(intake.links.patient_links_revoke, audited `patient.links_revoked`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from intake.consent_pages import staff_consent_context
from intake.document_pages import staff_documents_section
from intake.links import patient_links_revoke
from intake.models import Patient
from intake.requirement_pages import staff_on_file
from propel.audit import audit_patients_viewed
from propel.models import AuditEvent
from propel.roles import Capability, staff_required
from scheduling.calendar.forms import LinksRevokeForm
from scheduling.message_history import HISTORY_LIMIT, patient_messages

PAGE = "scheduling:patient"


def _patient_context(patient: Patient, form: LinksRevokeForm) -> dict[str, Any]:
    """The page's rows in a fixed number of queries, however many appointments."""
    appointments = patient.appointments.select_related(
        "appointment_type", "clinician", "room"
    ).order_by("-start")
    last_revoke = (
        AuditEvent.objects.filter(patient_id=patient.pk, action="patient.links_revoked")
        .order_by("-at")
        .first()
    )
    return {
        "patient": patient,
        "appointments": appointments,
        "last_revoke": last_revoke,
        "link_days": settings.PATIENT_LINK_MAX_AGE.days,
        "form": form,
        "messages_sent": patient_messages(patient.pk)[:HISTORY_LIMIT],
        "history_limit": HISTORY_LIMIT,
        "consent": staff_consent_context(patient),
    }


def _page(
    request: HttpRequest, patient: Patient, form: LinksRevokeForm, status: int = 200
) -> HttpResponse:
    audit_patients_viewed(request, page=PAGE, patient_ids=[patient.pk])
    context = _patient_context(patient, form)
    context["documents"] = staff_documents_section(request, patient)
    context["on_file"] = staff_on_file(patient.pk, user=request.user)
    return render(request, "scheduling/calendar/patient.html", context, status=status)


@staff_required(Capability.CALENDAR)
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    return _page(request, patient, LinksRevokeForm())


@require_POST
@staff_required(Capability.CALENDAR)
def patient_links_revoke_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    form = LinksRevokeForm(request.POST)
    if not form.is_valid():
        return _page(request, patient, form, status=400)
    patient_links_revoke(patient_id=patient.pk, request=request, reason=form.cleaned_data["reason"])
    done = _(
        "Every link sent to %(name)s before now no longer opens, and any page one opened is "
        "closed. To get a new link, the patient asks for one on the “Email me a new link” "
        "page (%(url)s), which emails the address on file; the next email we send carries one too."
    )
    url = f"{settings.SITE_URL}{reverse('scheduling:link_request')}"
    messages.success(request, done % {"name": patient, "url": url})
    return redirect(PAGE, patient_id=patient.pk)
