"""The screening's last step: check, consent and sign before sending."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from intake.questions.base import (
    Question,
    Section,
)

CONSENT_SECTION = Section(
    "consent",
    _("Check and send"),
    _(
        "Please confirm before you send your answers. You cannot change them after sending, but you can call us."
    ),
    (
        Question(
            "attest_true",
            _("The answers I have given are true and complete to the best of my knowledge."),
            "checkbox",
        ),
        Question(
            "consent_contact_doctors",
            _("The care team may contact my oncologist or other doctors about my care."),
            "checkbox",
            required=False,
        ),
        Question(
            "signature_name", _("Type your full name as your signature"), "text", max_length=200
        ),
    ),
)
