from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from propel.audit import audit_record
from propel.models import AuditEvent
from propel.roles import Capability, staff_required


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "propel/home.html")


class AuditFilterForm(forms.Form):
    patient = forms.IntegerField(label=_("Patient number"), min_value=1, required=False)


@staff_required(Capability.CLINIC_ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.select_related("actor")
    patient_id = None
    if form.is_valid() and form.cleaned_data["patient"]:
        patient_id = form.cleaned_data["patient"]
        events = events.for_patient(patient_id)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    if patient_id is not None:
        audit_record(action="audit.viewed", request=request, patient_id=patient_id)
    return render(
        request,
        "propel/audit_log.html",
        {"form": form, "page": page, "patient_id": patient_id},
    )
