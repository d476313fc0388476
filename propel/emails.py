"""Every email is a subject / text / HTML triplet of templates, built and sent by one function.

Templates live in templates/emails/<name>_subject.txt, <name>_body.txt and <name>_body.html.
Content rule for every email (the design card): the minimum a patient needs (first name, date,
time, place, a link); never a diagnosis, score, medication or the word "ketamine" in a subject.

Language (issue 22): the emails built here go to staff and offices (alerts, a locked account, a
referral's receipt), so they are rendered in English (`language`, STAFF_LANGUAGE) whatever
language the request that triggers them runs in: a crisis alert raised while a patient answers
in Spanish still reaches the clinician in English. Messages to patients go through the outbox
(scheduling.reminders.messages), in the patient's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from propel.message_language import STAFF_LANGUAGE, in_language

FORBIDDEN_IN_SUBJECT = ("ketamine",)


class UnsafeEmail(ValueError):
    """An email subject would carry a word that must never appear there."""


def build_email(
    *,
    name: str,
    to: list[str],
    context: Mapping[str, Any],
    attachments: Iterable[tuple[str, bytes | str, str]] = (),
    language: str = STAFF_LANGUAGE,
) -> EmailMultiAlternatives:
    with in_language(language) as code:
        return _build_email(
            name=name, to=to, context=context, attachments=attachments, language=code
        )


def _build_email(
    *,
    name: str,
    to: list[str],
    context: Mapping[str, Any],
    attachments: Iterable[tuple[str, bytes | str, str]],
    language: str,
) -> EmailMultiAlternatives:
    full_context = {
        "LANGUAGE_CODE": language,
        "clinic": {
            "name": settings.CLINIC_NAME,
            "address": settings.CLINIC_ADDRESS,
            "phone": settings.CLINIC_PHONE,
        },
        "site_url": settings.SITE_URL,
        **context,
    }
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", full_context).split())
    if any(word in subject.lower() for word in FORBIDDEN_IN_SUBJECT):
        raise UnsafeEmail(f"the subject of {name!r} names something it must not")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}_body.txt", full_context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(
        render_to_string(f"emails/{name}_body.html", full_context), "text/html"
    )
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message


def send_email(**kwargs: Any) -> None:
    build_email(**kwargs).send()
