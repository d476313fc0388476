"""The patient's consent forms on their link, and the signed PDFs for the patient and for staff.

Patient pages go through intake.link_pages' door (a patient only ever reaches their own forms
and signatures; anything else is the same calm 404) and every answer is private:
- `intake:forms`: the forms in the clinic's order with their state (to sign, signed on a date
  with its PDF, sign again: a new version), the ESIGN disclosure first; "Please give me paper
  forms" and "Ask for a paper copy" record a request for the front desk
  (intake.consent_forms.consent_paper_request).
- `intake:form_sign`: the whole text, date of birth, "I have read and agree", the typed full
  name and an optional drawn signature (static/js/signature-pad.js; the form works without it).
  The rules are intake.consent_forms.consent_sign; a refusal re-shows the form, answers kept.
- `intake:form_signed_pdf`: the patient's own signed PDF, as an attachment, no-store.

Staff: `intake:staff_signature_pdf` (front desk, clinicians, admin; audited `consent.pdf_viewed`)
and `intake:staff_consent_paper` (record a paper signature pointing at its scan).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from intake.consent_forms import (
    PAPER_COPY_REQUESTED,
    PAPER_FORMS_REQUESTED,
    ConsentRefused,
    FormState,
    consent_paper_record,
    consent_paper_request,
    consent_sign,
    drawn_signature_from_data_url,
    electronic_counts,
    paper_requests,
    patient_form_rows,
)
from intake.link_pages import patient_link_page
from intake.models import Patient
from intake.paperwork_models import (
    ConsentFormKind,
    ConsentSignature,
    DocumentKind,
    PatientDocument,
)
from intake.registration_forms import DATE_OF_BIRTH_FORMATS
from propel.audit import audit_record
from propel.http import client_ip, post_data
from propel.roles import Capability, staff_required

GET_ONLY = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]


class SignForm(forms.Form):
    date_of_birth = forms.DateField(
        label=_lazy("Your date of birth"),
        input_formats=DATE_OF_BIRTH_FORMATS,
        help_text=_lazy("Month, day and year, for example 03/27/1980."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "bday"}),
        error_messages={
            "invalid": _lazy("Enter the date as month/day/year, like 03/27/1980."),
            "required": _lazy("Please enter your date of birth."),
        },
    )
    agreed = forms.BooleanField(
        label=_lazy("I have read this form and I agree to it."),
        error_messages={
            "required": _lazy("Please tick the box to say you have read the form and agree.")
        },
    )
    typed_name = forms.CharField(
        label=_lazy("Type your full name"),
        help_text=_lazy("First and last name, as we have them. This is your signature."),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _lazy("Please type your full name to sign.")},
    )
    # The canvas's PNG as a data URL (static/js/signature-pad.js); empty without JS or a drawing.
    drawn_signature = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("date_of_birth", "typed_name"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-lg"
        self.fields["agreed"].widget.attrs["class"] = "form-check-input"


def _forms_url(token: str) -> str:
    return reverse("intake:forms", kwargs={"token": token})


@require_http_methods(GET_POST)
@patient_link_page
def forms_page(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    today = timezone.localdate()
    if request.method == "POST":
        data = post_data(request)
        what = data.get("request", "") if data is not None else ""
        if what == "paper_forms":
            consent_paper_request(patient_id=patient.pk, action=PAPER_FORMS_REQUESTED)
            messages.success(
                request,
                _(
                    "Thank you. We will have paper forms ready for you to sign at the clinic "
                    "before your visit."
                ),
            )
        elif what == "paper_copy":
            signature = get_object_or_404(
                ConsentSignature,
                pk=_int(data.get("signature") if data is not None else None),
                patient=patient,
            )
            consent_paper_request(
                patient_id=patient.pk, action=PAPER_COPY_REQUESTED, signature_id=signature.pk
            )
            messages.success(
                request, _("Thank you. The front desk will have a paper copy ready for you.")
            )
        return redirect(_forms_url(token))
    rows = patient_form_rows(patient.pk, today=today)
    electronic_ok = electronic_counts(rows)
    requests = paper_requests(patient.pk)
    context = {
        "rows": rows,
        "token": token,
        "electronic_ok": electronic_ok,
        "paper_forms_requested": any(e.action == PAPER_FORMS_REQUESTED for e in requests),
        "states": FormState,
    }
    return render(request, "intake/consent/forms.html", context)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


@require_http_methods(GET_POST)
@patient_link_page
def form_sign(request: HttpRequest, patient: Patient, token: str, kind: str) -> HttpResponse:
    today = timezone.localdate()
    rows = patient_form_rows(patient.pk, today=today)
    row = next((r for r in rows if r.kind == kind), None)
    if row is None:
        raise Http404
    blocked = kind != ConsentFormKind.ELECTRONIC and not electronic_counts(rows)
    form = SignForm()
    error = ""
    status = 200
    if request.method == "POST":
        data = post_data(request)
        form = SignForm(data)
        if data is None:
            error = _("That was too much to send. Please clear the drawing and try again.")
            status = 400
        elif form.is_valid():
            try:
                drawn = drawn_signature_from_data_url(form.cleaned_data["drawn_signature"])
                consent_sign(
                    patient_id=patient.pk,
                    form_kind=kind,
                    date_of_birth=form.cleaned_data["date_of_birth"],
                    agreed=form.cleaned_data["agreed"],
                    typed_name=form.cleaned_data["typed_name"],
                    drawn_signature_png=drawn,
                    ip=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except ConsentRefused as refused:
                if refused.field and refused.field in form.fields:
                    form.add_error(refused.field, refused.message)
                else:
                    error = refused.message
                status = 400
            else:
                messages.success(
                    request,
                    _(
                        "Thank you, your form is signed. You can download a copy below; we "
                        "also emailed you a link to it."
                    ),
                )
                return redirect(_forms_url(token))
        else:
            status = 400
    context = {
        "row": row,
        "form": form,
        "error": error,
        "blocked": blocked,
        "token": token,
        "forms_url": _forms_url(token),
        "states": FormState,
    }
    return render(request, "intake/consent/sign.html", context, status=status)


def _pdf_response(signature: ConsentSignature) -> HttpResponse:
    """The signed PDF as a download (a few kilobytes: read whole), never cached."""
    name = f"{signature.version.form.kind}-form-v{signature.version.number}.pdf"
    with signature.pdf.open("rb") as handle:
        data = handle.read()
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, no_store=True, private=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(GET_ONLY)
@patient_link_page
def form_signed_pdf(
    request: HttpRequest, patient: Patient, token: str, signature_id: int
) -> HttpResponse:
    signature = get_object_or_404(
        ConsentSignature.objects.select_related("version__form"), pk=signature_id, patient=patient
    )
    return _pdf_response(signature)


@never_cache
@require_http_methods(GET_ONLY)
@staff_required(Capability.HEALTH_STATUS)
def staff_signature_pdf(request: HttpRequest, patient_id: int, signature_id: int) -> HttpResponse:
    signature = get_object_or_404(
        ConsentSignature.objects.select_related("version__form"),
        pk=signature_id,
        patient_id=patient_id,
    )
    audit_record(
        action="consent.pdf_viewed",
        request=request,
        patient_id=patient_id,
        obj=signature,
        detail={"form": signature.version.form.kind, "version": signature.version.number},
    )
    return _pdf_response(signature)


# --- Staff: a paper signature ------------------------------------------------------------------


class PaperScanField(forms.ModelChoiceField):
    """The patient's scans of signed paper forms, named by file name and upload date."""

    def label_from_instance(self, obj: Any) -> str:
        return _("%(name)s, uploaded %(when)s") % {
            "name": obj.original_name,
            "when": timezone.localtime(obj.uploaded_at).date().isoformat(),
        }


class PaperSignatureForm(forms.Form):
    form_kind = forms.ChoiceField(label=_lazy("Form"), choices=ConsentFormKind.choices)
    signed_on = forms.DateField(
        label=_lazy("Date signed"),
        input_formats=DATE_OF_BIRTH_FORMATS,
        help_text=_lazy("Month, day and year, for example 03/27/2026."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    paper_document = PaperScanField(
        label=_lazy("Scan of the signed form"),
        queryset=PatientDocument.objects.none(),
        empty_label=_lazy("Choose the scan"),
        error_messages={"invalid_choice": _lazy("Choose the scan of the signed paper form.")},
    )
    signed_name = forms.CharField(
        label=_lazy("Name as signed"),
        max_length=200,
        required=False,
        help_text=_lazy("Leave empty to use the patient's name on file."),
    )

    def __init__(self, *args: Any, patient_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["paper_document"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = PatientDocument.objects.filter(
            patient_id=patient_id, kind=DocumentKind.PAPER_CONSENT, removed_at__isnull=True
        )


def staff_consent_context(patient: Patient, *, today: dt.date | None = None) -> dict[str, Any]:
    """The "Signed forms" section of the staff patient page (templates/intake/consent/
    _staff_signatures.html): each form's state, the paper requests, the paper-record form. A
    fixed number of queries."""
    today = today or timezone.localdate()
    return {
        "rows": patient_form_rows(patient.pk, today=today),
        "states": FormState,
        "requests": paper_requests(patient.pk),
        "paper_form": PaperSignatureForm(patient_id=patient.pk),
        "patient_id": patient.pk,
    }


@require_POST
@staff_required(Capability.HEALTH_STATUS)
def staff_consent_paper(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    form = PaperSignatureForm(post_data(request), patient_id=patient.pk)
    back = reverse("scheduling:patient", kwargs={"patient_id": patient.pk}) + "#signed-forms"
    if form.is_valid():
        try:
            consent_paper_record(
                patient_id=patient.pk,
                form_kind=form.cleaned_data["form_kind"],
                signed_on=form.cleaned_data["signed_on"],
                signed_name=form.cleaned_data["signed_name"],
                paper_document_id=form.cleaned_data["paper_document"].pk,
                recorded_by=request.user,
                request=request,
            )
        except ConsentRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("The paper signature is recorded."))
    else:
        problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, _("The paper signature was not recorded: %s") % problems)
    return redirect(back)
