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
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext as _

from propel import formatting
from scheduling.models import (
    ATTENDED_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
)
from scheduling.queries import RESCHEDULED_REASON
from scheduling.slots import clinic_tz

# How to book again: on the booking page, by phone, or no need (the visit is on or happened).
REBOOK_ONLINE = "online"
REBOOK_BY_PHONE = "phone"


@dataclass(frozen=True)
class VisitStatus:
    said: str
    rebook: str = ""  # REBOOK_ONLINE, REBOOK_BY_PHONE or ""

    def __post_init__(self) -> None:
        # "... at 10:00 a.m." ends there, not with a second full stop.
        object.__setattr__(self, "said", formatting.end_sentence(self.said))

    @property
    def is_off(self) -> bool:
        """The visit will not happen (cancelled, missed or deferred): offer to book again."""
        return bool(self.rebook)


def _when(start: dt.datetime, tz: ZoneInfo) -> str:
    local = start.astimezone(tz)
    return _("%(date)s at %(time)s") % {
        "date": formatting.local_date(local),
        "time": formatting.local_time(local),
    }


def visit_status(
    *,
    type_name: str,
    status: str,
    start: dt.datetime,
    now: dt.datetime,
    self_bookable: bool,
    tz: ZoneInfo,
    moved_to: dt.datetime | None = None,
) -> VisitStatus:
    """`moved_to`: the start of the appointment that replaced this one when the patient moved it
    online (the old one is cancelled then): it says moved, not cancelled, and offers nothing."""
    what = {"visit": type_name, "when": _when(start, tz)}
    rebook = REBOOK_ONLINE if self_bookable else REBOOK_BY_PHONE
    if status == AppointmentStatus.CANCELLED and moved_to is not None:
        moved = _("Your %(visit)s on %(when)s was moved to %(new)s.")
        return VisitStatus(moved % {**what, "new": _when(moved_to, tz)})
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


def moves_of(appointments: Iterable[Appointment]) -> dict[int, dt.datetime]:
    """For each of these appointments the patient moved online (cancelled with the move's
    reason), the start of the one that replaced it: booked by the same change, at the same
    instant (scheduling.queries.rescheduled_from). One query however many appointments."""
    by_patient = {appointment.pk: appointment.patient_id for appointment in appointments}
    if not by_patient:
        return {}
    moved = Q(appointment_id__in=by_patient, to_status=AppointmentStatus.CANCELLED)
    rows = AppointmentStatusChange.objects.filter(
        (moved & Q(reason=RESCHEDULED_REASON))
        | Q(appointment__patient_id__in=set(by_patient.values()), from_status="")
    ).values_list("appointment_id", "appointment__start", "from_status", "to_status", "at")
    booked_at = {at: start for appointment_id, start, before, _after, at in rows if before == ""}
    return {
        appointment_id: booked_at[at]
        for appointment_id, _start, before, after, at in rows
        if after == AppointmentStatus.CANCELLED and before != "" and at in booked_at
    }


def appointment_status(
    appointment: Appointment, *, now: dt.datetime, moved_to: dt.datetime | None = None
) -> VisitStatus:
    """`visit_status` for an appointment (its type loaded), in the clinic's zone; `moved_to` from
    `moves_of`."""
    appointment_type = appointment.appointment_type
    return visit_status(
        type_name=appointment_type.name.lower(),
        status=appointment.status,
        start=appointment.start,
        now=now,
        self_bookable=appointment_type.self_bookable,
        tz=clinic_tz(),
        moved_to=moved_to,
    )


def appointment_status_now(appointment: Appointment, *, now: dt.datetime) -> VisitStatus:
    """`appointment_status` for one appointment, moves included (one query)."""
    return appointment_status(
        appointment, now=now, moved_to=moves_of([appointment]).get(appointment.pk)
    )
