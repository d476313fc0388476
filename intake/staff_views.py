"""Staff pages for screening rounds: the list of every submitted round and one round read-only
(the chart links here for earlier rounds; crisis alert emails link here too).

Both need Capability.HEALTH_RECORD (clinician, admin); front desk sees only the status badges
(intake.screening, intake.clearance) on its own pages. Every read writes an audit event. The
clinician's working pages (the review queue and the patient's chart, with acknowledgements and
decisions) are in intake.review_views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache

from intake.answers import summarise
from intake.instruments import instruments
from intake.models import (
    SEVERITY_ORDER,
    CrisisAlert,
    IntakeSubmission,
    Severity,
)
from propel.audit import audit_record
from propel.roles import Capability, staff_required

TAPS1_DOMAIN_LABELS = {
    "tobacco": _lazy("Tobacco"),
    "alcohol": _lazy("Alcohol"),
    "illicit_drugs": _lazy("Illicit drugs"),
    "prescription_misuse": _lazy("Prescription medication misuse"),
}


@dataclass(frozen=True)
class ScoreRow:
    name: str
    value: str
    band: str = ""
    details: tuple[str, ...] = ()


def _maximum(instrument_id: str) -> Any:
    return instruments()[instrument_id].scoring.get("range", {}).get("max", "")


def _missing_note(result: dict[str, Any]) -> tuple[str, ...]:
    missing = result.get("missing") or []
    return (
        (_("Not scored: %(count)d item(s) unanswered") % {"count": len(missing)},)
        if missing
        else ()
    )


def score_rows(scores: dict[str, Any]) -> list[ScoreRow]:
    """The stored scores (intake.scoring.score_all) as lines a clinician reads."""
    rows: list[ScoreRow] = []
    catalogue = instruments()
    for instrument_id, result in scores.items():
        if instrument_id not in catalogue or not isinstance(result, dict):
            continue
        row = _instrument_row(instrument_id, catalogue[instrument_id].title, result)
        if row is not None:
            rows.append(row)
    if "mme_per_day" in scores:
        rows.append(_mme_row(scores))
    return rows


def _instrument_row(instrument_id: str, name: str, result: dict[str, Any]) -> ScoreRow | None:
    """One instrument's line, by the shape of its result: a total, a mean, a score or a screen
    (TAPS-1's positive domains); None for a result of no known shape."""
    if "total" in result:
        total = result.get("total")
        value = "—" if total is None else f"{total} / {_maximum(instrument_id)}"
        details = list(_missing_note(result))
        if instrument_id == "pcl5" and total is not None:
            details.extend(_pcl5_details(result))
        return ScoreRow(name, value, result.get("band") or "", tuple(details))
    if "mean" in result:
        mean = result.get("mean")
        value = "—" if mean is None else f"{mean} / 10"
        return ScoreRow(name, value, "", _missing_note(result))
    if "score" in result:
        score = result.get("score")
        value = "—" if score is None else f"{score} / {_maximum(instrument_id)}"
        return ScoreRow(name, value, result.get("band") or "", _missing_note(result))
    if "positive" in result:
        positive = result.get("positive") or {}
        outcome = {True: _("positive"), False: _("negative"), None: _("not answered")}
        screened = [
            f"{TAPS1_DOMAIN_LABELS.get(domain, domain)}: {outcome.get(flag, flag)}"
            for domain, flag in positive.items()
        ]
        any_positive = any(flag for flag in positive.values())
        label = _("Positive screen") if any_positive else _("Negative screen")
        return ScoreRow(name, label, "", tuple(screened))
    return None


def _pcl5_details(result: dict[str, Any]) -> list[str]:
    clusters = result.get("clusters") or {}
    dsm5 = result.get("dsm5_provisional")
    return [
        _("Clusters: %(clusters)s")
        % {"clusters": ", ".join(f"{k} {v}" for k, v in sorted(clusters.items()))},
        _("Provisional DSM-5 pattern: %(met)s") % {"met": _("met") if dsm5 else _("not met")},
        _("Cut-point %(cutoff)s: %(status)s")
        % {
            "cutoff": result.get("cutoff"),
            "status": _("at or above") if result.get("at_or_above_cutoff") else _("below"),
        },
    ]


def _mme_row(scores: dict[str, Any]) -> ScoreRow:
    not_computed = scores.get("mme_not_computed") or []
    details = (
        (
            _("Opioid entries without an MME (check dose, unit or frequency): %(rows)s")
            % {"rows": ", ".join(str(int(i) + 1) for i in not_computed)},
        )
        if not_computed
        else ()
    )
    return ScoreRow(
        _("Opioids: morphine milligram equivalents per day"),
        str(scores["mme_per_day"]),
        "",
        details,
    )


@staff_required(Capability.HEALTH_RECORD)
def submission_list(request: HttpRequest) -> HttpResponse:
    """The first list of submitted rounds grew into the review queue; old bookmarks go there."""
    return redirect("intake:review_queue")


@never_cache
@staff_required(Capability.HEALTH_RECORD)
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = get_object_or_404(
        IntakeSubmission.objects.select_related("patient"), pk=submission_id
    )
    flags = sorted(
        submission.flags.all(), key=lambda flag: (SEVERITY_ORDER[flag.severity], flag.pk)
    )
    alert = (
        CrisisAlert.objects.filter(submission=submission).select_related("acknowledged_by").first()
    )
    audit_record(
        action="chart.viewed",
        request=request,
        patient_id=submission.patient_id,
        obj=submission,
        detail={"round": submission.round},
    )
    return render(
        request,
        "intake/staff_submission.html",
        {
            "submission": submission,
            "patient": submission.patient,
            "flags": flags,
            "urgent": any(flag.severity == Severity.URGENT for flag in flags),
            "alert": alert,
            "scores": score_rows(submission.scores) if submission.is_submitted else [],
            "summaries": summarise(submission),
        },
    )
