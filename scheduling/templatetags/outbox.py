"""Template filters for the outbox's rows shown to staff (scheduling.message_history)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from scheduling.message_history import error_summary, resend_refused
from scheduling.models import Reminder

register = template.Library()

register.filter("error_summary", error_summary)


@register.filter
def resend_refusal_text(reminder: Reminder) -> str:
    """Why a failed row has no "Send again" button now ("" when it has one)."""
    return resend_refused(reminder, timezone.now())
