"""How the patient hears of a change the clinic made to their visit (issue 17, item 3).

The one home of the rule "every staff move or cancel tells the patient, once": the two doors that
make those changes (scheduling.booking.appointment_move and scheduling.transitions'
appointment_transition) call `change_notice_plan` inside their own transaction, after the change
has bumped the appointment's sequence. No view, form, admin screen or service plans these notices
itself, so a new page that moves or cancels through the doors cannot forget to tell the patient.

- A change the patient made through their link (`as_patient`) is not announced here:
  scheduling.online.changes plans its own notice (a reschedule is one message about the new
  appointment), and planning here too would send two.
- A caller that announces the change some other way passes `ChangeNotice(send=False)` (none does
  today; the demo data's history does, so a fresh demo sends nothing about the past).
- `reason` is one of NoticeReason's codes (staff pick it; never free text, which could carry a
  health detail into an email). `batch` is shared by the notices of one action for one patient
  (a course cancelled, a closed day): the dispatcher sends them as one message.
- Idempotent per change (reminder_notice_plan keys on the appointment's sequence): a change
  replayed plans nothing new, a second real change plans a second notice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from scheduling.models import NoticeReason, Reminder, ReminderKind
from scheduling.reminder_plan import reminder_notice_plan


@dataclasses.dataclass(frozen=True)
class ChangeNotice:
    """What the clinic tells the patient about one staff change: whether to tell them (`send`),
    the reason it chose to give ("" for none) and the batch of the action it belongs to."""

    reason: str = ""
    batch: uuid.UUID | None = None
    send: bool = True

    def __post_init__(self) -> None:
        if self.reason and self.reason not in NoticeReason.values:
            raise ValueError(f"{self.reason!r} is not a NoticeReason: reasons are never free text")


DEFAULT = ChangeNotice()
SILENT = ChangeNotice(send=False)


def change_notice_plan(
    *,
    appointment_id: int,
    kind: str,
    notice: ChangeNotice,
    as_patient: bool,
    now: dt.datetime,
    previous_start: dt.datetime | None = None,
) -> Reminder | None:
    """Plan the notice (`kind`: RESCHEDULED_NOTICE with the `previous_start` of a move that kept
    the appointment, or CANCELLED_NOTICE) of the change just made, unless the patient made it or
    the caller said not to. Call inside the change's transaction, after its sequence bump.
    Returns the row, or None when nothing is planned (also: no email address on file)."""
    if as_patient or not notice.send:
        return None
    return reminder_notice_plan(
        appointment_id=appointment_id,
        kind=kind,
        now=now,
        previous_start=previous_start if kind == ReminderKind.RESCHEDULED_NOTICE else None,
        reason=notice.reason,
        batch=notice.batch,
    )


def notice_reason_field() -> forms.ChoiceField:
    """The select on every staff move and cancel form (calendar, course page, deferral, closure):
    the reason the patient's message gives, optional, never typed."""
    return forms.ChoiceField(
        label=_("Reason given to the patient (optional)"),
        choices=[("", _("No reason given")), *NoticeReason.choices],
        required=False,
        help_text=_(
            "The patient gets one email about this change, with this reason and how to book again."
        ),
    )
