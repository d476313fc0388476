"""Clinician review pages: the queue and a patient's chart, with the acknowledgement and decision
forms.

Reading needs Capability.HEALTH_RECORD (clinicians, admins); every POST needs
Capability.CLEARANCE_DECIDE (clinicians only: an admin sees the chart read-only). Front desk gets
403 here and sees only status badges on its own pages. Every render of the chart writes a
"chart.viewed" audit event; the services record the changes.

POST handlers check access, bind a form, call one service (intake.decisions), turn its
DecisionError into a form error (the chart is drawn again with what was typed, status 400) or
redirect back to the chart with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from intake.answers import summarise
from intake.clearance import clearance_statuses
from intake.decisions import (
    DecisionChanged,
    DecisionError,
    clearance_decide,
    crisis_alert_acknowledge,
    flag_acknowledge,
)
from intake.models import CrisisAlert, DecisionKind, Flag, Patient, SubmissionKind
from intake.outcomes import patient_outcomes
from intake.review import (
    Chart,
    age_on,
    flag_counts,
    load_chart,
    medication_rows,
    recent_decisions,
    review_queue,
)
from intake.review_forms import (
    CrisisAlertAcknowledgeForm,
    DecisionForm,
    FlagAcknowledgeForm,
    add_decision_error,
    mark_too_large,
)
from intake.staff_views import score_rows
from propel import formatting
from propel.audit import audit_record
from propel.http import post_data
from propel.policy_log import recent_policy_changes
from propel.roles import Capability, can, staff_required

PAGE_SIZE = 50


# --- The queue ---------------------------------------------------------------------------------


@never_cache
@staff_required(Capability.HEALTH_RECORD)
def queue(request: HttpRequest) -> HttpResponse:
    """Rounds waiting for a decision and rounds with an open crisis alert, most pressing first
    (intake.review.review_queue)."""
    rows = review_queue(now=timezone.now())
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    recent = recent_decisions()
    audit_record(
        action="review.queue_viewed",
        request=request,
        detail={
            "page": page.number,
            "patients": [row.patient.pk for row in page.object_list],
            "recently_decided": [decision.patient_id for decision in recent],
        },
    )
    return render(
        request,
        "intake/review/queue.html",
        {
            "page": page,
            # Patients, not rows: an alert on a draft or a check-in may add a second row.
            "urgent_open": len({row.patient.pk for row in rows if row.urgent_open}),
            "total": len(rows),
            "recent": recent,
            # Clinic policy, not a patient's record: reading it is not audited.
            "policy_changes": recent_policy_changes(),
        },
    )


# --- The chart ---------------------------------------------------------------------------------


def _patient_or_404(patient_id: int) -> Patient:
    return get_object_or_404(Patient, pk=patient_id)


def chart_url(patient_id: int, anchor: str = "") -> str:
    url = reverse("intake:chart", kwargs={"patient_id": patient_id})
    return f"{url}#{anchor}" if anchor else url


def _flag_action(patient_id: int, flag_id: int) -> str:
    return reverse(
        "intake:chart_flag_acknowledge", kwargs={"patient_id": patient_id, "flag_id": flag_id}
    )


def _alert_action(patient_id: int, alert_id: int) -> str:
    return reverse(
        "intake:chart_alert_acknowledge", kwargs={"patient_id": patient_id, "alert_id": alert_id}
    )


def _decide_action(patient_id: int) -> str:
    return reverse("intake:chart_decide", kwargs={"patient_id": patient_id})


def _flag_form(chart: Chart, flag: Flag, data: Any = None) -> FlagAcknowledgeForm:
    return FlagAcknowledgeForm(
        data,
        prefix=f"flag-{flag.pk}",
        action=_flag_action(chart.patient.pk, flag.pk),
        first=not flag.acknowledgements.all(),
        title=flag.title,
    )


def _alert_form(chart: Chart, alert: CrisisAlert, data: Any = None) -> CrisisAlertAcknowledgeForm:
    return CrisisAlertAcknowledgeForm(
        data, prefix=f"alert-{alert.pk}", action=_alert_action(chart.patient.pk, alert.pk)
    )


def _tokens(chart: Chart) -> dict[str, int]:
    """What the decision form says the clinician saw: the round and the latest decision."""
    latest = chart.latest_decision
    return {
        "submission_id": chart.current.pk if chart.current else 0,
        "after": latest.pk if latest else 0,
    }


def _decision_form(chart: Chart, data: Any = None) -> DecisionForm:
    return DecisionForm(
        data,
        today=timezone.localdate(),
        has_hard_stop=chart.has_hard_stop,
        action=_decide_action(chart.patient.pk),
        initial=_tokens(chart),
    )


def _refreshed_decision_form(chart: Chart, form: DecisionForm, message: str) -> DecisionForm:
    """The clinician's input again, now carrying what the chart shows at present, with
    `message` on top: sending it again is a deliberate decision on the current state."""
    # The form was bound to request.POST.
    data = cast(QueryDict, form.data).copy()
    for key, value in _tokens(chart).items():
        data[key] = str(value)  # QueryDict.update would append, not replace
    refreshed = _decision_form(chart, data)
    refreshed.is_valid()
    refreshed.add_error(None, message)
    return refreshed


def _render_chart(
    request: HttpRequest,
    chart: Chart,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Draw the chart, with `bound` forms (keyed "flag-<id>", "alert-<id>", "decision") in place
    of fresh ones, and record that it was read."""
    bound = bound or {}
    patient = chart.patient
    today = timezone.localdate()
    can_decide = can(request.user, Capability.CLEARANCE_DECIDE)
    current = chart.current
    flag_rows = [
        (
            flag,
            (bound.get(f"flag-{flag.pk}") or _flag_form(chart, flag)) if can_decide else None,
        )
        for flag in chart.flags
    ]
    alert_rows = [
        (
            alert,
            (bound.get(f"alert-{alert.pk}") or _alert_form(chart, alert))
            if can_decide and alert.acknowledged_at is None
            else None,
        )
        for alert in chart.alerts
    ]
    decision_form = None
    if can_decide and current is not None:
        decision_form = bound.get("decision") or _decision_form(chart)
    medicines, total_mme = medication_rows(current.answers) if current else ([], None)
    context = {
        "patient": patient,
        "age": age_on(patient.date_of_birth, today),
        "chart": chart,
        "current": current,
        "clearance": clearance_statuses([patient.pk], today=today).get(patient.pk),
        "flag_rows": flag_rows,
        "flag_counts": flag_counts(chart.flags),
        "unacknowledged": len(chart.unacknowledged_flags),
        "alert_rows": alert_rows,
        "scores": score_rows(current.scores) if current else [],
        "summaries": summarise(current) if current else [],
        "medicines": medicines,
        "total_mme": total_mme,
        "decision_form": decision_form,
        "can_decide": can_decide,
        "outcomes": patient_outcomes(patient.pk),
    }
    audit_record(
        action="chart.viewed",
        request=request,
        patient_id=patient.pk,
        obj=patient,
        detail={"round": current.round if current else None},
    )
    return render(request, "intake/review/chart.html", context, status=status)


@never_cache
@staff_required(Capability.HEALTH_RECORD)
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _render_chart(request, load_chart(_patient_or_404(patient_id)))


def _post_chart_form(
    request: HttpRequest,
    chart: Chart,
    key: str,
    bind: Callable[[Any], forms.Form],
    save: Callable[[forms.Form], HttpResponse | None],
    *,
    too_large_field: str | None,
    too_large_data: Any = None,
) -> HttpResponse:
    """The shape every chart POST shares: bind the form (`bind(request.POST)`), and if it is
    valid call `save(form)`, which answers (a redirect, a 409 page) or puts the service's error on
    the form and returns None. Otherwise the chart is drawn again with the form in its place
    (`key`, as _render_chart takes it), status 400. A body beyond DATA_UPLOAD_MAX_MEMORY_SIZE
    cannot be read: the form comes back bound to `too_large_data` (default empty) saying so on
    `too_large_field`."""
    data = post_data(request)
    if data is None:
        form = mark_too_large(
            bind({} if too_large_data is None else too_large_data), too_large_field
        )
        return _render_chart(request, chart, bound={key: form}, status=400)
    form = bind(data)
    if form.is_valid() and (answer := save(form)) is not None:
        return answer
    return _render_chart(request, chart, bound={key: form}, status=400)


@never_cache
@staff_required(Capability.CLEARANCE_DECIDE)
@require_POST
def flag_acknowledge_view(request: HttpRequest, patient_id: int, flag_id: int) -> HttpResponse:
    # Only this patient's screening flags: another patient's flag id is a 404, never a write.
    flag = get_object_or_404(
        Flag.objects.only("pk", "submission_id"),
        pk=flag_id,
        submission__patient_id=patient_id,
        submission__kind=SubmissionKind.SCREENING,
    )
    chart = load_chart(_patient_or_404(patient_id))
    shown = next((f for f in chart.flags if f.pk == flag.pk), None)
    if shown is None:
        messages.error(
            request, _("That flag belongs to an earlier round; the chart shows the latest one.")
        )
        return redirect(chart_url(patient_id, "flags"))
    return _post_chart_form(
        request,
        chart,
        f"flag-{flag.pk}",
        partial(_flag_form, chart, shown),
        partial(_acknowledge_flag, request, chart, shown),
        too_large_field="note",
    )


def _acknowledge_flag(
    request: HttpRequest, chart: Chart, flag: Flag, form: forms.Form
) -> HttpResponse | None:
    try:
        flag_acknowledge(
            flag_id=flag.pk, actor=request.user, note=form.cleaned_data["note"], request=request
        )
    except DecisionError as error:
        form.add_error("note", error.message)
        return None
    messages.success(request, _("Flag acknowledged: %(title)s") % {"title": flag.title})
    return redirect(chart_url(chart.patient.pk, f"flag-{flag.pk}"))


@never_cache
@staff_required(Capability.CLEARANCE_DECIDE)
@require_POST
def alert_acknowledge_view(request: HttpRequest, patient_id: int, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(CrisisAlert.objects.only("pk"), pk=alert_id, patient_id=patient_id)
    chart = load_chart(_patient_or_404(patient_id))
    shown = next(a for a in chart.alerts if a.pk == alert.pk)
    return _post_chart_form(
        request,
        chart,
        f"alert-{alert.pk}",
        partial(_alert_form, chart, shown),
        partial(_acknowledge_alert, request, chart, shown),
        too_large_field="outcome",
    )


def _acknowledge_alert(
    request: HttpRequest, chart: Chart, alert: CrisisAlert, form: forms.Form
) -> HttpResponse | None:
    try:
        crisis_alert_acknowledge(
            alert_id=alert.pk,
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            request=request,
        )
    except DecisionError as error:
        if error.code != "already_acknowledged":
            form.add_error("outcome", error.message)
            return None
        # Someone else got there first: nothing to redo; the chart shows who and when.
        messages.warning(request, error.message)
        return redirect(chart_url(chart.patient.pk, "flags"))
    messages.success(request, _("Crisis alert acknowledged."))
    return redirect(chart_url(chart.patient.pk, "crisis"))


def _changed_message(latest: Any) -> str:
    if latest is None:
        return _(
            "The decisions on this chart changed while this page was open, so nothing was "
            "recorded. Please read the chart again before deciding."
        )
    who = latest.decided_by.get_full_name() or latest.decided_by.get_username()
    return _(
        "A decision (%(kind)s) was recorded by %(who)s at %(when)s while this page was open, so "
        "nothing more was recorded. Read it below; decide again only if it should change."
    ) % {
        "kind": latest.get_kind_display(),
        "who": who,
        "when": formatting.local_datetime(latest.decided_at),
    }


NEWER_ROUND = _lazy(
    "A newer screening round arrived while this page was open, so nothing was recorded. The "
    "chart now shows it: please review it before deciding."
)


def _decided_message(kind: str, valid_until: Any) -> str:
    if kind == DecisionKind.CLEARED:
        return _("Decision recorded: cleared until %(date)s.") % {
            "date": formatting.local_date(valid_until)
        }
    if kind == DecisionKind.DECLINED:
        return _("Decision recorded: declined.")
    return _("Decision recorded: more information requested from the patient.")


@never_cache
@staff_required(Capability.CLEARANCE_DECIDE)
@require_POST
def decide_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    chart = load_chart(_patient_or_404(patient_id))
    if chart.current is None:
        messages.error(request, _("This patient has not sent a screening round to decide on."))
        return redirect(chart_url(patient_id))
    return _post_chart_form(
        request,
        chart,
        "decision",
        partial(_decision_form, chart),
        partial(_decide, request, chart),
        too_large_field=None,
        too_large_data=_tokens(chart),
    )


def _decide(request: HttpRequest, chart: Chart, form: DecisionForm) -> HttpResponse | None:
    """clearance_decide on the round the form was drawn for; a newer round or a decision recorded
    meanwhile draws the chart as it is now, the clinician's input kept, status 409. The chart
    has a current round (decide_view checked)."""
    current = chart.current
    assert current is not None  # decide_view drew no decision form without a current round
    if form.cleaned_data["submission_id"] != current.pk:
        return _decision_conflict(request, chart, form, str(NEWER_ROUND))
    arguments = form.service_arguments()
    try:
        clearance_decide(
            submission_id=current.pk,
            seen_decision_id=form.cleaned_data["after"],
            actor=request.user,
            request=request,
            **arguments,
        )
    except DecisionChanged as changed:
        chart = load_chart(chart.patient)
        return _decision_conflict(request, chart, form, _changed_message(changed.latest))
    except DecisionError as error:
        add_decision_error(form, error)
        return None
    messages.success(request, _decided_message(arguments["kind"], arguments["valid_until"]))
    return redirect(chart_url(chart.patient.pk, "decisions"))


def _decision_conflict(
    request: HttpRequest, chart: Chart, form: DecisionForm, message: str
) -> HttpResponse:
    refreshed = _refreshed_decision_form(chart, form, message)
    return _render_chart(request, chart, bound={"decision": refreshed}, status=409)
