"""Template filters for the outbox's rows shown to staff (scheduling.message_history)."""

from __future__ import annotations

from django import template

from scheduling.message_history import error_summary

register = template.Library()

register.filter("error_summary", error_summary)
