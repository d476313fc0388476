"""Referral pages (issue 21, item 5): the public form a referring office fills in, its "sent" page,
the front desk's queue and a referral's page. Each view checks access, binds a form, calls one
service of intake.referrals and turns a refusal into a message.

No patient detail ever travels in an address: the "sent" page finds its reference in the
session, the referral's page searches patients by POST, and the new-patient page is opened with
the referral's id only (scheduling:patient_new reads the rest, audited).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from intake.duplicates import likely_duplicates
from intake.models import Patient
from intake.paperwork_models import PatientDocument, Referral, ReferralStatus
from intake.referral_forms import (
    PatientFindForm,
    PatientLinkForm,
    QueueFilterForm,
    ReferralForm,
    ReferralStatusForm,
)
from intake.referrals import (
    NEXT_STATUSES,
    ReferralError,
    age_in_days,
    audit_referrals_viewed,
    patients_matching,
    referral_documents,
    referral_link_patient,
    referral_receive,
    referral_status_set,
    referrals_for_queue,
)
from propel.audit import audit_patients_viewed, audit_record
from propel.http import client_ip
from propel.ratelimit import ratelimit_hit
from propel.roles import Capability, can, staff_required
from propel.secret_addresses import keep_private

SENT_SESSION_KEY = "propel_referral_sent"
HOUR = 3600
FORM_PAGE = "intake/referrals/form.html"
DETAIL_PAGE = "intake/referrals/detail.html"


# --- The public form -----------------------------------------------------------------------------


def _form_page(request: HttpRequest, form: ReferralForm, *, status: int = 200) -> HttpResponse:
    # A letter chosen before an error is not kept by the browser: say so.
    choose_again = bool(form.errors) and "letter" in request.FILES
    context = {"form": form, "choose_again": choose_again}
    response = render(request, FORM_PAGE, context, status=status)
    return keep_private(response, what="referral form")


@require_http_methods(["GET", "HEAD", "POST"])
def referral(request: HttpRequest) -> HttpResponse:
    """The public referral form (no sign-in). Rate-limited per IP address; a honeypot turns
    scripts away; a second submit of the same form finds the first referral."""
    if request.method != "POST":
        form = ReferralForm(initial={"form_key": secrets.token_urlsafe(24)})
        return _form_page(request, form)
    if ratelimit_hit(
        f"referral:ip:{client_ip(request) or 'unknown'}",
        settings.REFERRAL_RATE_PER_IP_PER_HOUR,
        HOUR,
    ):
        return render(request, "intake/referrals/too_many.html", status=429)
    form = ReferralForm(request.POST, request.FILES)
    if form.is_honeypot_filled:
        form.add_error(
            None,
            _("We could not send this referral. Please call us at %(phone)s.")
            % {"phone": settings.CLINIC_PHONE},
        )
        return _form_page(request, form, status=400)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    received = referral_receive(
        details=form.details(),
        letter=form.cleaned_data["letter"],
        form_key=form.cleaned_data["form_key"],
        request=request,
    )
    request.session[SENT_SESSION_KEY] = received.reference
    return redirect("intake:referral_sent")


@require_http_methods(["GET", "HEAD"])
def referral_sent(request: HttpRequest) -> HttpResponse:
    """The reference number and what happens next; no patient detail."""
    reference = request.session.get(SENT_SESSION_KEY)
    if not reference:
        return redirect("intake:referral")
    return render(request, "intake/referrals/sent.html", {"reference": reference})


# --- The front desk's queue ----------------------------------------------------------------------


@staff_required(Capability.CALENDAR)
@require_http_methods(["GET", "HEAD"])
def referral_queue(request: HttpRequest) -> HttpResponse:
    """Referrals oldest first (open ones unless a status is chosen): one query for any number."""
    filter_form = QueueFilterForm(request.GET or None)
    status = filter_form.cleaned_data["status"] if filter_form.is_valid() else None
    rows = list(referrals_for_queue(status or None))
    today = timezone.localdate()
    audit_referrals_viewed(request, page="intake:referral_queue", referrals=rows)
    linked = [r.patient_id for r in rows if r.patient_id is not None]
    audit_patients_viewed(request, page="intake:referral_queue", patient_ids=linked)
    context = {
        "filter_form": filter_form,
        "rows": [(r, age_in_days(r.received_at, today)) for r in rows],
        "new_count": sum(r.status == ReferralStatus.NEW for r in rows),
    }
    return render(request, "intake/referrals/queue.html", context)


def _referral_or_404(referral_id: int) -> Referral:
    return get_object_or_404(Referral.objects.select_related("patient"), pk=referral_id)


@staff_required(Capability.CALENDAR)
@require_http_methods(["GET", "HEAD", "POST"])
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    """A referral: contact details for every staff role; the reason and the letter for
    clinicians and admin. POST: change the status, find the patient, link the patient."""
    referral = _referral_or_404(referral_id)
    action = request.POST.get("action") if request.method == "POST" else None
    status_form = ReferralStatusForm(
        request.POST if action == "status" else None, current=referral.status
    )
    find_form = PatientFindForm(request.POST if action == "find" else None)
    status = 200
    if action == "status":
        if status_form.is_valid():
            try:
                referral_status_set(
                    referral_id=referral.pk,
                    status=status_form.cleaned_data["status"],
                    note=status_form.cleaned_data["note"],
                    request=request,
                )
            except ReferralError as error:
                messages.error(request, error.message)
                return redirect("intake:referral_detail", referral_id=referral.pk)
            messages.success(request, _("The referral's status was changed."))
            return redirect("intake:referral_detail", referral_id=referral.pk)
        status = 400
    elif action == "link":
        return _link(request, referral)
    elif action is not None and (action != "find" or not find_form.is_valid()):
        status = 400
    return _detail_page(request, referral, status_form, find_form, status=status)


def _link(request: HttpRequest, referral: Referral) -> HttpResponse:
    form = PatientLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a patient from the list."))
        return redirect("intake:referral_detail", referral_id=referral.pk)
    patient_id = form.cleaned_data["patient"]
    if not Patient.objects.filter(pk=patient_id).exists():
        raise Http404
    try:
        referral_link_patient(referral_id=referral.pk, patient_id=patient_id, request=request)
    except ReferralError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The referral is linked to the patient."))
    return redirect("intake:referral_detail", referral_id=referral.pk)


def _detail_page(
    request: HttpRequest,
    referral: Referral,
    status_form: ReferralStatusForm,
    find_form: PatientFindForm,
    *,
    status: int,
) -> HttpResponse:
    clinical = can(request.user, Capability.HEALTH_RECORD)
    documents = referral_documents(referral.pk)
    matches: list[Patient] = []
    if find_form.is_bound and find_form.is_valid():
        matches = patients_matching(
            last_name=find_form.cleaned_data["last_name"],
            date_of_birth=find_form.cleaned_data["date_of_birth"],
        )
    suggestions = []
    if referral.patient_id is None and referral.patient_date_of_birth is not None:
        suggestions = likely_duplicates(
            first_name=referral.patient_first_name,
            last_name=referral.patient_last_name,
            date_of_birth=referral.patient_date_of_birth,
            email=referral.patient_email,
            mobile=str(referral.patient_phone or ""),
        )
    audit_referrals_viewed(
        request, page="intake:referral_detail", referrals=[referral], clinical=clinical
    )
    # The linked patient (named on the page), the search's matches and the likely duplicates.
    shown = [p.pk for p in matches] + [d.patient.pk for d in suggestions]
    if referral.patient_id is not None:
        shown.append(referral.patient_id)
    audit_patients_viewed(request, page="intake:referral_detail", patient_ids=shown)
    context = {
        "referral": referral,
        "clinical": clinical,
        "documents": documents,
        "status_form": status_form,
        "can_change_status": bool(NEXT_STATUSES.get(referral.status)),
        "find_form": find_form,
        "matches": matches,
        "searched": find_form.is_bound,
        "suggestions": suggestions,
        "age": age_in_days(referral.received_at, timezone.localdate()),
    }
    response = render(request, DETAIL_PAGE, context, status=status)
    return keep_private(response, what="referral page")


@staff_required(Capability.HEALTH_RECORD)
@require_http_methods(["GET", "HEAD"])
def referral_document(request: HttpRequest, referral_id: int, document_id: int) -> HttpResponse:
    """A referral's letter, for clinicians and admin only (it is clinical): audited, no-store,
    never sniffed or run by the browser. Another referral's document answers 404."""
    document = get_object_or_404(
        PatientDocument.objects.filter(removed_at__isnull=True),
        pk=document_id,
        referral_id=referral_id,
    )
    audit_record(
        action="referral.document_viewed",
        request=request,
        patient_id=document.patient_id,
        obj=document,
        detail={"referral_id": referral_id, "kind": document.kind},
    )
    with document.file.open("rb") as stored:
        response = HttpResponse(stored.read(), content_type=document.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    add_never_cache_headers(response)
    return response
