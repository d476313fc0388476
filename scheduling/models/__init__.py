"""Scheduling's models, one module per aggregate: the clinic's resources and hours (clinic),
appointments, courses and holds (appointments), the day of a visit (visits), reminders (reminders),
blocked time (time_off).

Every model and choice is re-exported here: `from scheduling.models import Appointment` keeps
working, and Django finds the models through these imports.
"""

from scheduling.models.appointments import (
    ACTIVE_STATUSES,
    ATTENDED_STATUSES,
    CALLED_OFF_STATUSES,
    OPEN_STATUSES,
    Appointment,
    AppointmentQuerySet,
    AppointmentStatus,
    AppointmentStatusChange,
    BookedVia,
    CourseEndReason,
    CourseStatus,
    InfusionCourse,
    SlotHold,
    SlotHoldQuerySet,
    status_word,
)
from scheduling.models.booking_requests import BookingRequest
from scheduling.models.clinic import (
    AppointmentType,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    RoomKind,
    Weekday,
    WorkingHours,
)
from scheduling.models.fhir import FhirId
from scheduling.models.fhir_clients import FhirClient
from scheduling.models.reminders import (
    NoticeReason,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from scheduling.models.time_off import BlockedReason, BlockedTime, BlockedTimeQuerySet
from scheduling.models.visits import (
    GateOutcome,
    PreInfusionCheckIn,
    ReadingPhase,
    Visit,
    VisitItemAcknowledgement,
    VitalReading,
    VitalsPolicy,
)
from scheduling.models.waitlist import (
    EntryState,
    FreedSlot,
    InviteState,
    OfferState,
    PartOfDay,
    WaitlistEntry,
    WaitlistInvite,
    WaitlistOffer,
)

__all__ = [
    "ACTIVE_STATUSES",
    "ATTENDED_STATUSES",
    "CALLED_OFF_STATUSES",
    "OPEN_STATUSES",
    "Appointment",
    "AppointmentQuerySet",
    "AppointmentStatus",
    "AppointmentStatusChange",
    "AppointmentType",
    "BlockedReason",
    "BlockedTime",
    "BlockedTimeQuerySet",
    "BookedVia",
    "BookingRequest",
    "Clinician",
    "Closure",
    "CourseEndReason",
    "CourseStatus",
    "EntryState",
    "ExtraOpening",
    "FhirClient",
    "FhirId",
    "FreedSlot",
    "GateOutcome",
    "InfusionCourse",
    "InviteState",
    "NoticeReason",
    "OfferState",
    "OpeningHours",
    "PartOfDay",
    "PreInfusionCheckIn",
    "ReadingPhase",
    "Reminder",
    "ReminderChannel",
    "ReminderKind",
    "ReminderState",
    "Room",
    "RoomKind",
    "SlotHold",
    "SlotHoldQuerySet",
    "Visit",
    "VisitItemAcknowledgement",
    "VitalReading",
    "VitalsPolicy",
    "WaitlistEntry",
    "WaitlistInvite",
    "WaitlistOffer",
    "Weekday",
    "WorkingHours",
    "status_word",
]
