"""Template filters for instants shown in clinic time where Django's own formats fall silent:
the "O" and "T" formats print nothing for a time in the hour that happens twice."""

from __future__ import annotations

from django import template

from scheduling import time_fields

register = template.Library()

register.filter("time_value", time_fields.time_value)
register.filter("zone_abbreviation", time_fields.zone_abbreviation)
