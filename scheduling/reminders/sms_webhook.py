"""Inbound SMS from the provider: a patient's STOP reply withdraws consent to text messages.

POST /webhooks/sms/ with a JSON body {"from": "+1...", "text": "STOP"} and the header
X-Propel-Signature: the hex HMAC-SHA256 of the raw body under SMS_WEBHOOK_SECRET (an optional
"sha256=" prefix is accepted). A bad or missing signature gets 403, a body that is not that JSON
400; anything else 200, so the provider does not retry. An unknown number changes nothing.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT (any case, trimmed) withdraw SMS consent from
every patient with that mobile through intake.consent (a consent event with the source
"sms_stop", audited "patient.sms_opt_out"), which cancels their pending texts; the dispatcher also
checks consent before each text.

START does not opt a patient back in. Consent to texts is recorded with the patient (the consent
form, or staff on the patient's say-so) and carries the time it was given; an SMS reply only
proves that someone holds that phone now (numbers are shared and reassigned), and carriers already
handle START/STOP for their own blocking. So START is acknowledged and ignored: staff re-enable
texts after speaking with the patient.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from intake.consent import consent_set
from intake.models import ConsentChannel, ConsentSource, Patient
from scheduling.phones import valid_phone

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Propel-Signature"
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
MAX_BODY_BYTES = 10_000


def signature_for(body: bytes, secret: str | None = None) -> str:
    key = (settings.SMS_WEBHOOK_SECRET if secret is None else secret).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str) -> bool:
    if not settings.SMS_WEBHOOK_SECRET or not header:
        return False
    given = header.strip().removeprefix("sha256=")
    return hmac.compare_digest(given.encode(), signature_for(body).encode())


def sms_opt_out(*, mobile: str, request: HttpRequest | None = None) -> int:
    """Withdraw SMS consent for every patient with this mobile (intake.consent: recorded with the
    source "sms_stop", audited "patient.sms_opt_out", pending texts cancelled); the number of
    patients changed."""
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        ids = Patient.objects.filter(mobile=mobile, consent_sms=True).values_list("pk", flat=True)
        for patient_id in list(ids):
            changed += consent_set(
                patient_id=patient_id,
                channel=ConsentChannel.SMS,
                given=False,
                source=ConsentSource.SMS_STOP,
                now=now,
                request=request,
            )
    return changed


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return HttpResponse(status=400)
    if not signature_valid(body, request.headers.get(SIGNATURE_HEADER, "")):
        return HttpResponse(status=403)
    try:
        payload = json.loads(body)
    except ValueError:
        return HttpResponse(status=400)
    if not isinstance(payload, dict):
        return HttpResponse(status=400)
    sender, text = payload.get("from"), payload.get("text")
    if not isinstance(sender, str) or not isinstance(text, str):
        return HttpResponse(status=400)
    mobile = valid_phone(sender)
    if mobile is None:
        return HttpResponse(status=400)
    keyword = text.strip().upper()
    if keyword in OPT_OUT_WORDS:
        changed = sms_opt_out(mobile=mobile, request=request)
        logger.info("sms opt-out (%s) received; %d patient(s) changed", keyword, changed)
        return JsonResponse({"ok": True, "action": "opt_out"})
    return JsonResponse({"ok": True, "action": "none"})
