"""The clinic's default requirements (issue 21): before the consultation, every consent form
signed (not waivable); before the first infusion, a referral letter and a photo ID (a clinician
may waive them). Added by intake migration 0011 and by the demo (whose seeding must not depend on
rows a test's flush may have wiped). Forms are found or created by kind (their texts, the
versions, come from intake.consent_defaults). Idempotent; admin changes all of it afterwards."""

from __future__ import annotations

from typing import Any

FORMS = [
    ("electronic", "Consent to electronic records and signatures", 1),
    ("treatment", "Informed consent for treatment", 2),
    ("financial", "Financial policy", 3),
    ("privacy", "Acknowledgement of the notice of privacy practices", 4),
]
DOCUMENTS = ["referral", "photo_id"]


def requirement_defaults_add(consent_form_model: Any, requirement_model: Any) -> None:
    """get_or_create each default (models passed in: the migration's historical ones, or the
    real ones)."""
    for kind, title, order in FORMS:
        form, _created = consent_form_model.objects.get_or_create(
            kind=kind, defaults={"title": title, "order": order}
        )
        requirement_model.objects.get_or_create(
            step="consultation", consent_form=form, document_kind="", defaults={"waivable": False}
        )
    for kind in DOCUMENTS:
        requirement_model.objects.get_or_create(
            step="first_infusion",
            consent_form=None,
            document_kind=kind,
            defaults={"waivable": True},
        )
