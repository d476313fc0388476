"""The page behind the opt-out link in every email (intake.opt_out): GET shows what the button
does and changes nothing (mail scanners and link previews open links); POST stops email reminders
through intake.consent. A mail app's one-click POST (RFC 8058: `List-Unsubscribe=One-Click`, no
cookie, no CSRF token) works too, which is why this one view is exempt from the CSRF check: the
token in its address is the proof, and no other site can know it. A bad token gets the calm 404
page. Every answer is private and its address stays out of the log (propel.secret_addresses).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from intake.consent import consent_set
from intake.link_pages import link_invalid
from intake.models import ConsentChannel, ConsentSource
from intake.opt_out import email_opt_out_patient
from propel.secret_addresses import secret_address

TEMPLATE = "intake/opt_out/email.html"


@csrf_exempt
@secret_address(what="email opt-out page")
@require_http_methods(["GET", "HEAD", "POST"])
def email_opt_out(request: HttpRequest, token: str) -> HttpResponse:
    patient = email_opt_out_patient(token)
    if patient is None:
        return link_invalid(request)
    if request.method != "POST":
        return render(request, TEMPLATE, {"done": False})
    consent_set(
        patient_id=patient.pk,
        channel=ConsentChannel.EMAIL,
        given=False,
        source=ConsentSource.EMAIL_LINK,
        request=request,
    )
    return render(request, TEMPLATE, {"done": True})
