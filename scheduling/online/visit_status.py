"""Where one of a patient's visits stands, in words the patient may read, and how to book again
when it is off: the one home of this wording for every patient page that shows a visit's status
(the patient's page, the pages of one appointment, the booking confirmation reopened after the
visit was booked or cancelled). Issue 17: a cancelled visit's page says it is cancelled and offers
to rebook, never "You are booked".

`visit_status` is pure: the appointment's type name, status, start and whether patients book that
type online in; the sentence and the way to rebook out. Dates are clinic-local.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import formats
from django.utils.translation import gettext as _

from scheduling.models import ATTENDED_STATUSES, Appointment, AppointmentStatus
from scheduling.slots import clinic_tz

# How to book again: on the booking page, by phone, or no need (the visit is on or happened).
REBOOK_ONLINE = "online"
REBOOK_BY_PHONE = "phone"


@dataclass(frozen=True)
class VisitStatus:
    said: str
    rebook: str = ""  # REBOOK_ONLINE, REBOOK_BY_PHONE or ""

    @property
    def is_off(self) -> bool:
        """The visit will not happen (cancelled, missed or deferred): offer to book again."""
        return bool(self.rebook)


def _when(start: dt.datetime, tz: ZoneInfo) -> str:
    local = start.astimezone(tz)
    return _("%(date)s at %(time)s") % {
        "date": formats.date_format(local, "l, F j, Y"),
        "time": formats.time_format(local, "g:i A"),
    }


def visit_status(
    *,
    type_name: str,
    status: str,
    start: dt.datetime,
    now: dt.datetime,
    self_bookable: bool,
    tz: ZoneInfo,
) -> VisitStatus:
    what = {"visit": type_name, "when": _when(start, tz)}
    rebook = REBOOK_ONLINE if self_bookable else REBOOK_BY_PHONE
    if status == AppointmentStatus.CANCELLED:
        return VisitStatus(_("Your %(visit)s on %(when)s was cancelled.") % what, rebook)
    if status == AppointmentStatus.NO_SHOW:
        return VisitStatus(_("We did not see you at your %(visit)s on %(when)s.") % what, rebook)
    if status == AppointmentStatus.DEFERRED:
        return VisitStatus(
            _("Your %(visit)s on %(when)s did not go ahead that day.") % what, REBOOK_BY_PHONE
        )
    if status in ATTENDED_STATUSES:
        return VisitStatus(_("You came to your %(visit)s on %(when)s.") % what)
    if start <= now:
        return VisitStatus(_("Your %(visit)s was on %(when)s.") % what)
    return VisitStatus(_("Your %(visit)s is booked for %(when)s.") % what)


def appointment_status(appointment: Appointment, *, now: dt.datetime) -> VisitStatus:
    """`visit_status` for an appointment (its type loaded), in the clinic's zone."""
    appointment_type = appointment.appointment_type
    return visit_status(
        type_name=appointment_type.name.lower(),
        status=appointment.status,
        start=appointment.start,
        now=now,
        self_bookable=appointment_type.self_bookable,
        tz=clinic_tz(),
    )
