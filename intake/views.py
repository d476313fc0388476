"""The patient's questionnaire, reached through the signed link in intake.links.

Every view starts from the token: an invalid, expired, revoked or tampered token answers 404 and
says nothing about why. A patient only ever reaches their own rounds. Pages are never cached (they
carry health answers and may be opened on a shared device).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from intake.answers import incomplete_sections, summarise
from intake.forms import SectionForm
from intake.links import patient_from_token
from intake.models import IntakeSubmission, Patient, SubmissionStatus
from intake.questions import SECTION_KEYS, SECTIONS
from intake.screening import (
    IntakeError,
    crisis_resources_needed,
    intake_submit,
    submission_current,
    submission_open,
    submission_save_section,
)

GET_ONLY = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]


def _patient_or_404(token: str) -> Patient:
    patient = patient_from_token(token)
    if patient is None:
        raise Http404
    return patient


def _submitted_round_or_404(patient: Patient, round_: int) -> IntakeSubmission:
    submission = (
        IntakeSubmission.objects.screenings()
        .filter(patient=patient, round=round_, status=SubmissionStatus.SUBMITTED)
        .first()
    )
    if submission is None:
        raise Http404
    return submission


def _url(name: str, token: str, **kwargs: Any) -> str:
    return reverse(f"intake:{name}", kwargs={"token": token, **kwargs})


def _section_url(token: str, section_key: str) -> str:
    return _url("section", token, section_key=section_key)


def _summary_redirect(
    request: HttpRequest, token: str, submission: IntakeSubmission, *, told: bool
):
    if told:
        messages.info(request, IntakeError("already_submitted").message)
    return redirect(_url("summary", token, round=submission.round))


def _next_url(token: str, submission: IntakeSubmission, section_key: str) -> str:
    """The first unfinished step after this one, else the first unfinished one, else review."""
    position = SECTION_KEYS.index(section_key)
    incomplete = [s.key for s in incomplete_sections(submission)]
    later = [key for key in incomplete if SECTION_KEYS.index(key) > position]
    if later:
        return _section_url(token, later[0])
    if incomplete:
        return _section_url(token, incomplete[0])
    return _url("review", token)


@never_cache
@require_http_methods(GET_ONLY)
def start(request: HttpRequest, token: str) -> HttpResponse:
    patient = _patient_or_404(token)
    submission = submission_current(patient_id=patient.pk)
    if submission is None:
        submission = submission_open(patient_id=patient.pk)
    if submission.is_submitted:
        return _summary_redirect(request, token, submission, told=False)
    incomplete = incomplete_sections(submission)
    if incomplete:
        return redirect(_section_url(token, incomplete[0].key))
    return redirect(_url("review", token))


def _render_section(
    request: HttpRequest,
    token: str,
    submission: IntakeSubmission,
    form: SectionForm,
    *,
    page_error: str = "",
    status: int = 200,
) -> HttpResponse:
    number = SECTION_KEYS.index(form.section.key) + 1
    previous = SECTION_KEYS[number - 2] if number > 1 else None
    return render(
        request,
        "intake/section.html",
        {
            "token": token,
            "section": form.section,
            "number": number,
            "total": len(SECTIONS),
            "form": form,
            "blocks": form.blocks(),
            "error_links": form.error_links() if form.is_bound else [],
            "page_error": page_error,
            "back_url": _section_url(token, previous) if previous else "",
            "first_visit": not submission.completed_sections and number == 1,
        },
        status=status,
    )


@never_cache
@require_http_methods(GET_POST)
def section(request: HttpRequest, token: str, section_key: str) -> HttpResponse:
    patient = _patient_or_404(token)
    if section_key not in SECTION_KEYS:
        raise Http404
    submission = submission_current(patient_id=patient.pk)
    if submission is None:
        submission = submission_open(patient_id=patient.pk)
    if submission.is_submitted:
        return _summary_redirect(request, token, submission, told=request.method == "POST")
    today = timezone.localdate()
    if request.method != "POST":
        form = SectionForm(
            section_key=section_key,
            saved=submission.answers,
            today=today,
            rows=request.GET.get("rows"),
        )
        return _render_section(request, token, submission, form)
    try:
        data = request.POST
    except RequestDataTooBig:
        # Far more than any answer needs (a text box holds at most a few hundred characters).
        # What was saved before is shown again; nothing from this page could be read.
        form = SectionForm(section_key=section_key, saved=submission.answers, today=today)
        page_error = _(
            "That was too much to save at once, so this page was not saved. Please shorten your "
            "answers (each box holds a few hundred characters) and try again."
        )
        return _render_section(request, token, submission, form, page_error=page_error, status=400)
    add_rows = "add_rows" in data
    form = SectionForm(
        data, section_key=section_key, saved=submission.answers, today=today, add_rows=add_rows
    )
    if not form.is_valid():
        return _render_section(request, token, submission, form)
    try:
        submission = submission_save_section(
            submission_id=submission.pk,
            section_key=section_key,
            answers=form.answers(),
            complete=not add_rows,
        )
    except IntakeError as error:
        if error.code == "already_submitted":
            return _summary_redirect(request, token, submission, told=True)
        # "busy": the same round is being saved from another tab; the answers stay on the page.
        return _render_section(request, token, submission, form, page_error=error.message)
    if add_rows:
        url = f"{_section_url(token, section_key)}?rows={form.row_count}#medications"
        return redirect(url)
    return redirect(_next_url(token, submission, section_key))


@never_cache
@require_http_methods(GET_POST)
def review(request: HttpRequest, token: str) -> HttpResponse:
    patient = _patient_or_404(token)
    submission = submission_current(patient_id=patient.pk)
    if submission is None:
        return redirect(_url("start", token))
    if submission.is_submitted:
        if request.method == "POST":
            # A second press of "Send" (or a second tab): the round went already; show its page.
            return redirect(_url("submitted", token, round=submission.round))
        return _summary_redirect(request, token, submission, told=False)
    error = ""
    if request.method == "POST":
        try:
            intake_submit(submission_id=submission.pk)
        except IntakeError as exc:
            if exc.code != "already_submitted":
                error = exc.message
            else:
                return redirect(_url("submitted", token, round=submission.round))
        else:
            return redirect(_url("submitted", token, round=submission.round))
    return render(
        request,
        "intake/review.html",
        {
            "token": token,
            "submission": submission,
            "summaries": summarise(submission),
            "incomplete": incomplete_sections(submission),
            "error": error,
            "total": len(SECTIONS),
        },
    )


@never_cache
@require_http_methods(GET_ONLY)
def submitted(request: HttpRequest, token: str, round: int) -> HttpResponse:
    patient = _patient_or_404(token)
    submission = _submitted_round_or_404(patient, round)
    return render(
        request,
        "intake/submitted.html",
        {
            "token": token,
            "submission": submission,
            "crisis": crisis_resources_needed(submission),
        },
    )


@never_cache
@require_http_methods(GET_ONLY)
def summary(request: HttpRequest, token: str, round: int) -> HttpResponse:
    patient = _patient_or_404(token)
    submission = _submitted_round_or_404(patient, round)
    return render(
        request,
        "intake/summary.html",
        {
            "token": token,
            "submission": submission,
            "summaries": summarise(submission),
            "crisis": crisis_resources_needed(submission),
        },
    )
