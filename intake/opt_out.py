"""The one-click opt-out of email reminders carried by every email to a patient: a signed link in
the footer and the List-Unsubscribe headers of RFC 8058 (mail apps show an "Unsubscribe" button
that POSTs to the same address).

The token names one patient and does one thing, stopping email reminders: its own salt, so no
other token opens the page and it opens no other page. It does not expire and is not revoked with
the patient's links (intake.links): an opt-out only lowers what we send, and a link in an old
email must still work. The page (intake.opt_out_pages) changes nothing on GET, since mail
scanners open links.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from intake.models import Patient

SALT = "propel.email-opt-out.v1"
KEY = "o"


def email_opt_out_token(patient_id: int) -> str:
    return signing.dumps({KEY: patient_id}, salt=SALT)


def email_opt_out_patient(token: str) -> Patient | None:
    """The patient a good token names, or None (bad signature, other purpose, no such patient)."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    patient_id = payload.get(KEY) if isinstance(payload, dict) else None
    if not isinstance(patient_id, int):
        return None
    return Patient.objects.filter(pk=patient_id).first()


def email_opt_out_url(patient_id: int) -> str:
    """The full address of the patient's opt-out page, for an email."""
    token = email_opt_out_token(patient_id)
    return settings.SITE_URL + reverse("intake:email_opt_out", args=[token])


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058 headers for an email whose opt-out page is `url` (none when empty)."""
    if not url:
        return {}
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
