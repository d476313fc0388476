"""The pages around documents (the rules are in intake.documents):

- intake:documents: the patient's own uploads and an upload form, on their link
  (intake.link_pages' door).
- The "Documents" section of the staff patient page (scheduling.calendar.patient_views puts
  staff_documents_section into its context): every document's kind, name, type, size, who sent
  it and when, an "open" link where this staff member may open it, and an upload form.
- intake:staff_document: one file, served inline through this audited view (`document.viewed`),
  never by a URL of the store: no-store, nosniff, a sandboxing Content-Security-Policy and a
  safe file name. Front desk opens the non-clinical kinds only; a clinical one answers 403 with a
  page saying why. Another patient's document id answers 404.
- intake:staff_document_upload and intake:staff_document_set_aside: staff upload and set aside.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake.document_fields import DocumentField, document_help_text
from intake.documents import (
    PATIENT_KINDS,
    document_download_name,
    document_may_open,
    document_set_aside,
    document_store,
)
from intake.link_pages import patient_link_page
from intake.models import Patient
from intake.paperwork_models import DocumentKind, DocumentSource, PatientDocument
from propel.audit import audit_record
from propel.roles import Capability, staff_required

# The staff patient page (scheduling.calendar.patient_views), named, not imported: intake never
# imports scheduling.
STAFF_PATIENT_PAGE = "scheduling:patient"
CHOOSE_AGAIN = gettext_lazy(
    "For your safety the file is not kept when something needs fixing: please choose it again."
)


class _UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What is it?"))
    file = DocumentField(label=gettext_lazy("File"))

    def __init__(self, *args: Any, kinds: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(DocumentKind.choices)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", _("Choose one")), *((k, labels[k]) for k in kinds)]
        self.fields["file"].help_text = document_help_text()


class PatientDocumentForm(_UploadForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, kinds=tuple(PATIENT_KINDS), **kwargs)


class StaffDocumentForm(_UploadForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, kinds=tuple(DocumentKind.values), **kwargs)
        self.fields["file"].help_text = _("A PDF, JPEG, PNG or HEIC file.")


class SetAsideForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why set it aside?"),
        max_length=300,
        help_text=gettext_lazy("For example: the wrong patient's letter, an unreadable photo."),
    )


# --- The patient's page -----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@patient_link_page
def documents(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    posted = request.method == "POST"
    form = PatientDocumentForm(request.POST, request.FILES) if posted else None
    if form is not None and form.is_valid():
        document_store(
            clean=form.cleaned_data["file"],
            kind=form.cleaned_data["kind"],
            source=DocumentSource.PATIENT,
            patient_id=patient.pk,
            request=request,
        )
        messages.success(
            request,
            _("Thank you: we have your %(kind)s. Our team will look at it before your visit.")
            % {"kind": DocumentKind(form.cleaned_data["kind"]).label.lower()},
        )
        return redirect("intake:documents", token=token)
    uploads = patient.documents.filter(removed_at__isnull=True).order_by("-uploaded_at", "-id")
    context = {
        "patient": patient,
        "token": token,
        "form": form or PatientDocumentForm(),
        "uploads": uploads,
        "choose_again": CHOOSE_AGAIN if form is not None and form.errors else "",
    }
    return render(request, "intake/documents/patient.html", context, status=400 if posted else 200)


# --- Staff ------------------------------------------------------------------------------------


def staff_documents_section(
    request: HttpRequest, patient: Patient, form: StaffDocumentForm | None = None
) -> dict[str, Any]:
    """The "Documents" section of the staff patient page, in one query: every document of the
    patient (set-aside ones listed as such), with whether this staff member may open it."""
    rows = list(
        PatientDocument.objects.filter(patient_id=patient.pk)
        .select_related("uploaded_by", "removed_by")
        .order_by("-uploaded_at", "-id")
    )
    for row in rows:
        row.may_open = document_may_open(request.user, row.kind)  # type: ignore[attr-defined]
    return {
        "patient_id": patient.pk,
        "rows": rows,
        "form": form or StaffDocumentForm(auto_id="id_document_%s"),
        "set_aside_form": SetAsideForm(auto_id=False),
    }


def _patient_document_or_404(patient_id: int, document_id: int) -> PatientDocument:
    """The document, only under its own patient's address (another patient's id: 404)."""
    return get_object_or_404(PatientDocument, pk=document_id, patient_id=patient_id)


@require_GET
@staff_required(Capability.CALENDAR)
def staff_document(request: HttpRequest, patient_id: int, document_id: int) -> HttpResponse:
    document = _patient_document_or_404(patient_id, document_id)
    if not document_may_open(request.user, document.kind):
        response = render(
            request, "intake/documents/staff_refused.html", {"document": document}, status=403
        )
        response["Cache-Control"] = "no-store, private"
        return response
    audit_record(
        action="document.viewed",
        request=request,
        patient_id=patient_id,
        obj=document,
        detail={"kind": document.kind},
    )
    # Read whole (at most DOCUMENTS_MAX_UPLOAD_MB), so the file is closed before the answer goes.
    with document.file.open("rb") as stored:
        response = HttpResponse(stored.read(), content_type=document.content_type)
    disposition = content_disposition_header(
        as_attachment=False, filename=document_download_name(document)
    )
    response["Content-Disposition"] = disposition or "inline"
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    # Opened as a page of its own (target=_blank), never in a frame: a sandboxed frame stops
    # Chrome's PDF viewer, a sandboxed page does not (it drops a PDF's CSP). The browser's own
    # image and PDF pages style themselves inline, hence style-src.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
@staff_required(Capability.CALENDAR)
def staff_document_upload(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    form = StaffDocumentForm(request.POST, request.FILES, auto_id="id_document_%s")
    if not form.is_valid():
        context = {"patient": patient, "form": form, "choose_again": CHOOSE_AGAIN}
        return render(request, "intake/documents/staff_upload.html", context, status=400)
    document_store(
        clean=form.cleaned_data["file"],
        kind=form.cleaned_data["kind"],
        source=DocumentSource.STAFF,
        patient_id=patient.pk,
        request=request,
    )
    messages.success(
        request,
        _("Stored: %(kind)s.") % {"kind": DocumentKind(form.cleaned_data["kind"]).label},
    )
    return redirect(f"{_staff_patient_url(patient.pk)}#documents")


@require_POST
@staff_required(Capability.CALENDAR)
def staff_document_set_aside(
    request: HttpRequest, patient_id: int, document_id: int
) -> HttpResponse:
    """Set a wrong upload aside, with a reason. Anyone who may open the document may set it
    aside (front desk: the non-clinical kinds)."""
    document = _patient_document_or_404(patient_id, document_id)
    if not document_may_open(request.user, document.kind):
        return render(
            request, "intake/documents/staff_refused.html", {"document": document}, status=403
        )
    form = SetAsideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please say why the document is set aside."))
        return redirect(f"{_staff_patient_url(patient_id)}#documents")
    document_set_aside(
        document_id=document.pk,
        patient_id=patient_id,
        reason=form.cleaned_data["reason"],
        request=request,
    )
    messages.success(request, _("Set aside. It no longer counts as on file."))
    return redirect(f"{_staff_patient_url(patient_id)}#documents")


def _staff_patient_url(patient_id: int) -> str:
    return reverse(STAFF_PATIENT_PAGE, kwargs={"patient_id": patient_id})
