"""Staff pages for what must be on file (intake.requirements): the staff patient page's section
"What must be on file" (`staff_on_file`, included by scheduling's patient page) and a clinician's
waiver of one item (`requirement_waive_view`).

Who sees what: every staff role sees each requirement and whether it is on file, missing or
waived; clinicians and admin also see who waived it, when and why; the front desk sees "waived by
a clinician" (the reason may be clinical). Only clinicians waive (Capability.CLEARANCE_DECIDE),
and only a waivable item, with a reason; intake.requirements.requirement_waive decides.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from intake.models import Patient
from intake.paperwork_models import Requirement, RequirementStep
from intake.requirements import (
    REASON_MIN_WORDS,
    STAFF_ANCHOR,
    WaiverRefused,
    requirement_lines,
    requirement_waive,
    waiver_reason_ok,
)
from propel.roles import Capability, can, staff_required

# The staff patient page (scheduling's), where the section lives.
STAFF_PAGE = "scheduling:patient"


class WaiverForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the waiver"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("A few words the care team can read later."),
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not waiver_reason_ok(reason):
            raise forms.ValidationError(
                _("Give the reason for the waiver in a few words (at least %(n)d).")
                % {"n": REASON_MIN_WORDS}
            )
        return reason


def staff_on_file(patient_id: int, *, user: Any) -> dict[str, Any]:
    """The context of templates/intake/requirements/_staff_requirements.html: each step's
    requirements with their state, whether this user may waive and may read the waivers'
    reasons. A fixed number of queries."""
    lines = requirement_lines(patient_id, today=timezone.localdate())
    return {
        "patient_id": patient_id,
        "steps": [
            {"label": RequirementStep(step).label, "lines": found} for step, found in lines.items()
        ],
        "any": any(lines.values()),
        "can_waive": can(user, Capability.CLEARANCE_DECIDE),
        "show_reasons": can(user, Capability.HEALTH_RECORD),
    }


@require_POST
@staff_required(Capability.CLEARANCE_DECIDE)
def requirement_waive_view(
    request: HttpRequest, patient_id: int, requirement_id: int
) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    requirement = get_object_or_404(Requirement, pk=requirement_id)
    form = WaiverForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            requirement_waive(
                patient_id=patient.pk,
                requirement_id=requirement.pk,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WaiverRefused as refused:
            error = refused.message
        else:
            messages.success(
                request, _("Waived for this patient: %(what)s.") % {"what": requirement}
            )
            return redirect(f"{reverse(STAFF_PAGE, args=[patient.pk])}#{STAFF_ANCHOR}")
    context = {
        "patient": patient,
        "requirement": requirement,
        "form": form,
        "error": error,
        "back": f"{reverse(STAFF_PAGE, args=[patient.pk])}#{STAFF_ANCHOR}",
    }
    return render(request, "intake/requirements/waive.html", context, status=400)
