"""The patient's questionnaire, reached through the signed link in intake.links.

Two questionnaires share these views (a `Flow` says which): the screening, and the short check-in
before each infusion. Every view goes through intake.link_pages: the link's token is swapped for a
session, pages carry the marker `me` where it was, and a bad link (404), a revoked or expired one
(410) or a timed-out session (401) gets a calm page that says nothing about the patient. A patient
only ever reaches their own rounds. Every answer is private: no-store, private, no Referer to
other sites, no address in the log (they carry health answers and may be opened on a shared
device).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from intake.answers import CRISIS_ITEM, incomplete_sections, summarise
from intake.call_hours import call_hours, clinic_open, next_opening
from intake.check_in_pages import check_in_closed_page
from intake.crisis import item9_value
from intake.forms import SectionForm
from intake.link_pages import patient_link_page
from intake.models import CrisisAlert, IntakeSubmission, Patient, SubmissionKind
from intake.questionnaire_progress import questionnaire_progress
from intake.questions import section_keys
from intake.screening import (
    IntakeError,
    crisis_resources_needed,
    intake_submit,
    submission_current,
    submission_open,
    submission_save_section,
)
from propel.http import post_data

GET_ONLY = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]

# A page shows an opened round: page(request, flow, submission, **address_kwargs).
Page = Callable[..., HttpResponse]
View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Flow:
    """Which questionnaire a page belongs to, and its addresses. The screening is addressed by the
    token alone (the patient's current round); a pre-infusion check-in by its round as well
    (intake:check_in_*), since a patient answers one before each infusion."""

    token: str
    kind: str = SubmissionKind.SCREENING
    round: int | None = None

    @property
    def is_check_in(self) -> bool:
        return self.kind == SubmissionKind.CHECK_IN

    @property
    def section_keys(self) -> tuple[str, ...]:
        return section_keys(self.kind)

    def url(self, name: str, **kwargs: Any) -> str:
        if self.is_check_in:
            kwargs = {"token": self.token, "round": self.round, **kwargs}
            return reverse(f"intake:check_in_{name}", kwargs=kwargs)
        return reverse(f"intake:{name}", kwargs={"token": self.token, **kwargs})

    def section_url(self, section_key: str) -> str:
        return self.url("section", section_key=section_key)


def _render(
    request: HttpRequest, flow: Flow, template: str, *, status: int = 200, **context: Any
) -> HttpResponse:
    """A questionnaire page: every one knows its link's token and whether it is a check-in."""
    context = {"token": flow.token, "check_in": flow.is_check_in, **context}
    return render(request, f"intake/{template}", context, status=status)


def _submitted_round_or_404(
    patient: Patient, round_: int, kind: str = SubmissionKind.SCREENING
) -> IntakeSubmission:
    submission = (
        IntakeSubmission.objects.filter(kind=kind)
        .submitted()
        .filter(patient=patient, round=round_)
        .first()
    )
    if submission is None:
        raise Http404
    return submission


def _check_in_or_404(patient: Patient, round_: int) -> IntakeSubmission:
    """The patient's own check-in round with this number (opened by scheduling.check_ins)."""
    submission = IntakeSubmission.objects.check_ins().filter(patient=patient, round=round_).first()
    if submission is None:
        raise Http404
    return submission


def _summary_redirect(
    request: HttpRequest, flow: Flow, submission: IntakeSubmission, *, told: bool
) -> HttpResponse:
    if told:
        messages.info(request, IntakeError("already_submitted").message)
    return redirect(flow.url("summary", round=submission.round))


def _next_url(flow: Flow, submission: IntakeSubmission, section_key: str) -> str:
    """The first unfinished step after this one, else the first unfinished one, else review."""
    keys = flow.section_keys
    position = keys.index(section_key)
    incomplete = [s.key for s in incomplete_sections(submission)]
    later = [key for key in incomplete if keys.index(key) > position]
    if later:
        return flow.section_url(later[0])
    if incomplete:
        return flow.section_url(incomplete[0])
    return flow.url("review")


def _resume(request: HttpRequest, flow: Flow, submission: IntakeSubmission) -> HttpResponse:
    """Where an opened round continues: its answers once sent, else the first unfinished step,
    else the review page."""
    if submission.is_submitted:
        return _summary_redirect(request, flow, submission, told=False)
    incomplete = incomplete_sections(submission)
    if incomplete:
        return redirect(flow.section_url(incomplete[0].key))
    return redirect(flow.url("review"))


def _render_section(
    request: HttpRequest,
    flow: Flow,
    submission: IntakeSubmission,
    form: SectionForm,
    *,
    page_error: str = "",
    status: int = 200,
) -> HttpResponse:
    keys = flow.section_keys
    number = keys.index(form.section.key) + 1
    previous = keys[number - 2] if number > 1 else None
    blocks = form.blocks()
    return _render(
        request,
        flow,
        "section.html",
        section=form.section,
        number=number,
        total=len(keys),
        form=form,
        blocks=blocks,
        uses_instruments=any(b.instrument is not None and b.instrument.validated for b in blocks),
        error_links=form.error_links() if form.is_bound else [],
        page_error=page_error,
        back_url=flow.section_url(previous) if previous else "",
        first_visit=not submission.completed_sections and number == 1,
        info_request=submission.info_request,
        status=status,
    )


def _section_page(
    request: HttpRequest, flow: Flow, submission: IntakeSubmission, section_key: str
) -> HttpResponse:
    """One step of an open round: shown, or saved and on to the next step. A round already sent
    is read-only: its answers are shown instead."""
    if submission.is_submitted:
        return _summary_redirect(request, flow, submission, told=request.method == "POST")
    today = timezone.localdate()
    if request.method != "POST":
        form = SectionForm(
            section_key=section_key,
            saved=submission.answers,
            today=today,
            rows=request.GET.get("rows"),
            kind=flow.kind,
        )
        return _render_section(request, flow, submission, form)
    data = post_data(request)
    if data is None:
        # Far more than any answer needs (a text box holds at most a few hundred characters).
        # What was saved before is shown again; nothing from this page could be read.
        form = SectionForm(
            section_key=section_key, saved=submission.answers, today=today, kind=flow.kind
        )
        page_error = _(
            "That was too much to save at once, so this page was not saved. Please shorten your "
            "answers (each box holds a few hundred characters) and try again."
        )
        return _render_section(request, flow, submission, form, page_error=page_error, status=400)
    add_rows = "add_rows" in data
    form = SectionForm(
        data,
        section_key=section_key,
        saved=submission.answers,
        today=today,
        add_rows=add_rows,
        kind=flow.kind,
    )
    if not form.is_valid():
        return _render_section(request, flow, submission, form)
    try:
        submission = submission_save_section(
            submission_id=submission.pk,
            section_key=section_key,
            answers=form.answers(),
            complete=not add_rows,
        )
    except IntakeError as error:
        if error.code == "already_submitted":
            return _summary_redirect(request, flow, submission, told=True)
        # "busy": the same round is being saved from another tab; the answers stay on the page.
        return _render_section(request, flow, submission, form, page_error=error.message)
    if add_rows:
        url = f"{flow.section_url(section_key)}?rows={form.row_count}#medications"
        return redirect(url)
    if CRISIS_ITEM in form.answers() and (item9_value(submission.answers) or 0) > 0:
        # §5.3: the very next page shows crisis resources, before anything else.
        return redirect(flow.url("crisis"))
    return redirect(_next_url(flow, submission, section_key))


def _crisis_page(request: HttpRequest, flow: Flow, submission: IntakeSubmission) -> HttpResponse:
    """Crisis resources after a step with a positive item 9 (decided from the stored round: its
    alert, or the stored answer), then a way on. Outside clinic hours it says the clinic is
    closed and to call 988 or 911 now."""
    positive = (item9_value(submission.answers) or 0) > 0
    if not positive and not CrisisAlert.objects.filter(submission=submission).exists():
        return _resume(request, flow, submission)
    now = timezone.now()
    hours = call_hours()
    is_open = clinic_open(now, hours)
    if submission.is_submitted:
        continue_url = flow.url("summary", round=submission.round)
    else:
        incomplete = incomplete_sections(submission)
        continue_url = flow.section_url(incomplete[0].key) if incomplete else flow.url("review")
    return _render(
        request,
        flow,
        "crisis.html",
        clinic_open=is_open,
        opens_at=None if is_open else timezone.localtime(next_opening(now, hours)),
        continue_url=continue_url,
    )


def _review_page(request: HttpRequest, flow: Flow, submission: IntakeSubmission) -> HttpResponse:
    """Every answer with a link to change it, and "Send". Sending twice shows the sent page."""
    sent_url = flow.url("submitted", round=submission.round)
    if submission.is_submitted:
        if request.method == "POST":
            # A second press of "Send" (or a second tab): the round went already; show its page.
            return redirect(sent_url)
        return _summary_redirect(request, flow, submission, told=False)
    error = ""
    if request.method == "POST":
        try:
            intake_submit(submission_id=submission.pk)
        except IntakeError as exc:
            if exc.code != "already_submitted":
                error = exc.message
            else:
                return redirect(sent_url)
        else:
            return redirect(sent_url)
    incomplete = incomplete_sections(submission)
    return _render(
        request,
        flow,
        "review.html",
        submission=submission,
        summaries=[
            dataclass_replace(summary, edit_url=flow.section_url(summary.section.key))
            for summary in summarise(submission)
        ],
        incomplete=incomplete,
        incomplete_links=[(s.title, flow.section_url(s.key)) for s in incomplete],
        review_url=flow.url("review"),
        error=error,
        total=len(flow.section_keys),
    )


def _render_sent_round(
    request: HttpRequest, flow: Flow, template: str, submission: IntakeSubmission, **context: Any
) -> HttpResponse:
    """A page about a sent round: crisis resources first when its item 9 was positive (decided
    from the stored round); for the patient's latest screening round, where it stands in the
    patient page's words (intake.questionnaire_progress; a check-in's page is about its visit,
    an earlier round's says nothing of a review)."""
    crisis = crisis_resources_needed(submission)
    latest = not flow.is_check_in and not (
        IntakeSubmission.objects.screenings()
        .filter(patient_id=submission.patient_id, round__gt=submission.round)
        .exists()
    )
    progress = questionnaire_progress(submission.patient_id) if latest else None
    return _render(
        request,
        flow,
        template,
        submission=submission,
        crisis=crisis,
        progress=progress,
        **context,
    )


def _submitted_page(request: HttpRequest, flow: Flow, submission: IntakeSubmission) -> HttpResponse:
    summary_url = flow.url("summary", round=submission.round)
    return _render_sent_round(request, flow, "submitted.html", submission, summary_url=summary_url)


def _summary_page(request: HttpRequest, flow: Flow, submission: IntakeSubmission) -> HttpResponse:
    summaries = summarise(submission)
    return _render_sent_round(request, flow, "summary.html", submission, summaries=summaries)


# --- The views: which round a link reaches, and the page that shows it --------------------------


def _unknown_section_404(flow: Flow, section_key: str | None) -> None:
    if section_key is not None and section_key not in flow.section_keys:
        raise Http404


def _current_round_view(page: Page, methods: list[str], *, opens: bool) -> View:
    """A screening page addressed by the token alone: the patient's current round (the draft,
    else the latest one sent). Without one, `opens` starts a draft; otherwise the patient is sent
    to the start."""

    @require_http_methods(methods)
    @patient_link_page
    def view(request: HttpRequest, patient: Patient, token: str, **kwargs: Any) -> HttpResponse:
        flow = Flow(token)
        _unknown_section_404(flow, kwargs.get("section_key"))
        submission = submission_current(patient_id=patient.pk)
        if submission is None:
            if not opens:
                return redirect(flow.url("start"))
            submission = submission_open(patient_id=patient.pk)
        return page(request, flow, submission, **kwargs)

    return view


def _check_in_view(page: Page, methods: list[str], *, window: bool = True) -> View:
    """A page of one of the patient's pre-infusion check-in rounds (opened by
    scheduling.check_ins). With `window`, an unsent round outside its window shows the "not now"
    page instead (intake.check_in_pages)."""

    @require_http_methods(methods)
    @patient_link_page
    def view(
        request: HttpRequest, patient: Patient, token: str, round: int, **kwargs: Any
    ) -> HttpResponse:
        flow = Flow(token, SubmissionKind.CHECK_IN, round)
        section_key = kwargs.get("section_key")
        _unknown_section_404(flow, section_key)
        submission = _check_in_or_404(patient, round)
        if window:
            closed = check_in_closed_page(request, submission, section_key)
            if closed is not None:
                return closed
        return page(request, flow, submission, **kwargs)

    return view


def _sent_round_view(page: Page, kind: str) -> View:
    """A page of one round the patient has sent, addressed by its number."""

    @require_http_methods(GET_ONLY)
    @patient_link_page
    def view(request: HttpRequest, patient: Patient, token: str, round: int) -> HttpResponse:
        submission = _submitted_round_or_404(patient, round, kind)
        return page(request, Flow(token, kind, round), submission)

    return view


start = _current_round_view(_resume, GET_ONLY, opens=True)
section = _current_round_view(_section_page, GET_POST, opens=True)
crisis = _current_round_view(_crisis_page, GET_ONLY, opens=False)
review = _current_round_view(_review_page, GET_POST, opens=False)
submitted = _sent_round_view(_submitted_page, SubmissionKind.SCREENING)
summary = _sent_round_view(_summary_page, SubmissionKind.SCREENING)

check_in_start = _check_in_view(_resume, GET_ONLY)
check_in_section = _check_in_view(_section_page, GET_POST)
# Crisis resources are never held back by the window.
check_in_crisis = _check_in_view(_crisis_page, GET_ONLY, window=False)
check_in_review = _check_in_view(_review_page, GET_POST)
check_in_submitted = _sent_round_view(_submitted_page, SubmissionKind.CHECK_IN)
check_in_summary = _sent_round_view(_summary_page, SubmissionKind.CHECK_IN)
