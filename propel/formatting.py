"""One way to write a date, a time, a phone number and a name, on every page, email and text.

- Date: "Tue, Dec 8, 2026" (Spanish: "martes, 8 de diciembre de 2026").
- Time: "10:00 a.m." (Spanish: "10:00 a. m."); with `zone=True` "10:00 a.m. PT" (messages, and
  anything read outside the clinic's zone). In the hour clocks repeat when they fall back, "PT"
  alone would name two instants, so that hour says "PDT" or "PST".
- Short date: "Dec 8" (Spanish "8 dic"), in a row of days.
- Date and time: "Tue, Dec 8, 2026, 10:00 a.m." (and the zone, as above).
- Phone: "(916) 915-9215" for a US number, "+44 20 7946 0958" for another country's; text that
  is not a number is shown as it was given.
- Patient: "Alex Sample" (first name, then last name). Staff: their full name, else their
  username (no invented titles: not every clinician is a doctor).

Aware datetimes are shown in the clinic's zone (TIME_ZONE), whatever zone is active; naive ones
and plain dates and times are taken as the clinic's already. Every format string goes through
gettext (msgctxt "format"), and month and day names are Django's, so a translation changes the
words and their order without a template change. None and values of the wrong type are "", never
an error. propel.templatetags.formats makes these template filters (builtins: no {% load %}).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateformat import time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, pgettext

# The clinic's zone as a reader sees it after a time, whatever the season.
ZONE_ABBREVIATIONS = {"America/Los_Angeles": gettext_lazy("PT")}
DEFAULT_REGION = "US"
# Django's own words for the time of day (its date format "a"), which it looks up with gettext: our
# catalogue comes first, so these entries give Spanish the RAE's "a. m." / "p. m." where Django's
# catalogue has "a.m.". Marked here only so makemessages keeps them in locale/es.
# Translators: the morning half of a 12-hour time, as in "10:00 a.m.".
MORNING = gettext_noop("a.m.")
# Translators: the afternoon half of a 12-hour time, as in "3:00 p.m.".
AFTERNOON = gettext_noop("p.m.")
# Django's weekday names (its date format "l"), for the same reason: its Spanish catalogue
# capitalises them ("Martes"), and a weekday inside a Spanish sentence is lower case ("el martes,
# 8 de diciembre").
WEEKDAY_NAMES = (
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
)


def date_pattern() -> str:
    # Translators: a date as Django's date filter writes it (Tue, Dec 8, 2026). See
    # https://docs.djangoproject.com/en/5.2/ref/templates/builtins/#date
    return pgettext("format", "D, M j, Y")


def calendar_date_pattern() -> str:
    # Translators: a date without its weekday, e.g. a date of birth (Dec 8, 1970).
    return pgettext("format", "M j, Y")


def short_date_pattern() -> str:
    # Translators: a short date in a row of days or on a chart's axis (Dec 8). Spanish puts the
    # day first and the month in lower case: "j b" (8 dic).
    return pgettext("format", "M j")


def time_pattern() -> str:
    # Translators: a time as Django's time filter writes it (10:00 a.m.).
    return pgettext("format", "g:i a")


def _clinic_local(value: dt.datetime) -> dt.datetime:
    if timezone.is_aware(value):
        return timezone.localtime(value, timezone.get_default_timezone())
    return value


def zone_abbreviation(value: dt.datetime | dt.time | None = None) -> str:
    """The clinic's zone after a time: "PT"; "PDT"/"PST" for a time in the repeated hour."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        local = _clinic_local(value)
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            return local.tzname() or ""
    zone = str(settings.TIME_ZONE)
    return str(ZONE_ABBREVIATIONS.get(zone, zone))


def local_date(value: Any) -> str:
    """ "Tue, Dec 8, 2026" for a date or a datetime (its clinic-local day); "" for anything else."""
    if isinstance(value, dt.datetime):
        value = _clinic_local(value).date()
    if not isinstance(value, dt.date):
        return ""
    return date_format(value, date_pattern())


def calendar_date(value: Any) -> str:
    """ "Dec 8, 1970": a date that is not a visit (a date of birth, a diagnosis), so no weekday."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return ""
    return date_format(value, calendar_date_pattern())


def short_date(value: Any) -> str:
    """ "Dec 8" (Spanish "8 dic"): a day in a row of days, where the year goes without saying."""
    if isinstance(value, dt.datetime):
        value = _clinic_local(value).date()
    if not isinstance(value, dt.date):
        return ""
    return date_format(value, short_date_pattern())


def local_time(value: Any, zone: bool = False) -> str:
    """ "10:00 a.m." (noon is "12:00 p.m.", midnight "12:00 a.m."), with " PT" when `zone`."""
    if isinstance(value, dt.datetime):
        value = _clinic_local(value)
        text = date_format(value, time_pattern())
    elif isinstance(value, dt.time):
        text = time_format(value, time_pattern())
    else:
        return ""
    return f"{text} {zone_abbreviation(value)}" if zone else text


def local_datetime(value: Any, zone: bool = False) -> str:
    """ "Tue, Dec 8, 2026, 10:00 a.m." (and the zone when asked); "" for anything but a datetime."""
    if not isinstance(value, dt.datetime):
        return ""
    # Translators: a date then a time: "Tue, Dec 8, 2026, 10:00 a.m.".
    return _("%(date)s, %(time)s") % {"date": local_date(value), "time": local_time(value, zone)}


# "a.m." or "p.m." (or Spanish "a. m.") followed by the sentence's own full stop.
_DOUBLE_STOP = re.compile(r"(\b[ap]\.\s?m\.)\.(?=\s|$)")


def end_sentence(text: str) -> str:
    """A sentence that ends with a time ends with the time's own full stop: "at 3:00 p.m."
    rather than "at 3:00 p.m..". For messages built from a translated pattern and a time."""
    return _DOUBLE_STOP.sub(r"\1", text)


def _parsed(value: Any) -> phonenumbers.PhoneNumber | None:
    if value is None or value == "":
        return None
    if isinstance(value, phonenumbers.PhoneNumber):
        number = value
    else:
        try:
            number = phonenumbers.parse(str(value), DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return None
    return number if phonenumbers.is_valid_number(number) else None


def phone(value: Any) -> str:
    """ "(916) 915-9215" from "+19169159215", a PhoneNumber or a typed US number; another
    country's in international form; text that is not a valid number as given; None is ""."""
    number = _parsed(value)
    if number is None:
        return "" if value is None else str(value).strip()
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def tel_href(value: Any) -> str:
    """ "tel:+19169159215" for a link that dials the number; "" when it is not one."""
    number = _parsed(value)
    if number is None:
        return ""
    return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def patient_name(patient: Any) -> str:
    """ "Alex Sample": anything with first_name and last_name; "" for None."""
    if patient is None:
        return ""
    first = str(getattr(patient, "first_name", "") or "").strip()
    last = str(getattr(patient, "last_name", "") or "").strip()
    return " ".join(part for part in (first, last) if part)


def staff_name(user: Any) -> str:
    """A staff user's full name, else their username; "" for None."""
    if user is None:
        return ""
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or str(getattr(user, "get_username", lambda: "")() or "")
