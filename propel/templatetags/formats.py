"""The template filters for propel.formatting, built into every template (settings TEMPLATES
"builtins"), so no template needs a {% load %}:

    {{ start|local_date }}            Tue, Dec 8, 2026
    {{ patient.date_of_birth|calendar_date }}  Dec 8, 1970
    {{ start|local_time }}            10:00 a.m.
    {{ start|local_time:"zone" }}     10:00 a.m. PT
    {{ start|local_datetime }}        Tue, Dec 8, 2026, 10:00 a.m.
    {{ patient.mobile|phone }}        (916) 915-9215
    {{ clinic.phone|tel_href }}       tel:+19169159215
    {{ patient|patient_name }}        Alex Sample
    {{ user|staff_name }}             Sam Clinician
"""

from __future__ import annotations

from typing import Any

from django import template

from propel import formatting

register = template.Library()


def _zone(arg: Any) -> bool:
    return bool(arg == "zone")


@register.filter
def local_date(value: Any) -> str:
    return formatting.local_date(value)


@register.filter
def local_time(value: Any, arg: Any = "") -> str:
    return formatting.local_time(value, zone=_zone(arg))


@register.filter
def local_datetime(value: Any, arg: Any = "") -> str:
    return formatting.local_datetime(value, zone=_zone(arg))


register.filter("calendar_date", formatting.calendar_date)
register.filter("phone", formatting.phone)
register.filter("tel_href", formatting.tel_href)
register.filter("patient_name", formatting.patient_name)
register.filter("staff_name", formatting.staff_name)
