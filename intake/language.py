"""The patient's language: what they choose on their own pages becomes their preferred_language,
which every message and link sent to them follows (scheduling.reminders, intake's emails).

- `patient_language_set()`: the one service that changes Patient.preferred_language, audited
  like a change of contact preferences (intake.consent), nothing written when it is unchanged.
- `set_language()`: the language switch's view (/i18n/setlang/, templates/components/
  _language_switch.html). Django's set_language (cookie, back to the same page, no JavaScript)
  and, when this browser holds a patient's link session (intake.link_sessions), their choice kept.
- intake.link_pages opens a patient's pages in their preferred_language when the browser has no
  language cookie yet (a link opened on a new phone).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from intake.link_sessions import patient_session_check
from intake.models import Language, Patient
from propel.audit import audit_record


def patient_language_set(
    *, patient_id: int, language: str, source: str, request: HttpRequest | None = None
) -> bool:
    """Store the patient's language ("en"/"es"); True when it changed (and was audited)."""
    if language not in Language.values:
        raise ValueError(f"not a patient language: {language!r}")
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        if patient.preferred_language == language:
            return False
        before = patient.preferred_language
        patient.preferred_language = language
        patient.save(update_fields=["preferred_language"])
        audit_record(
            action="patient.language_set",
            request=request,
            patient_id=patient.pk,
            obj=patient,
            detail={"source": source, "from": before, "to": language},
        )
    return True


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES) and language in Language.values:
        check = patient_session_check(request, now=timezone.now())
        if check.patient is not None:
            patient_language_set(
                patient_id=check.patient.pk,
                language=language,
                source="language_switch",
                request=request,
            )
    return response
