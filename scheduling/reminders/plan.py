"""Moved to the core: scheduling.reminder_plan (booking and the lifecycle door write reminder rows).

Kept only while scheduling.booking, scheduling.visits.transitions and demo.scale_data still import
this path (their owners switch to scheduling.reminder_plan); delete it then.
"""

from scheduling.reminder_plan import (
    BEFORE_KINDS,
    NOTICE_KINDS,
    after_quiet_hours,
    appointment_kind,
    in_quiet_hours,
    plan_reminders,
    reminder_notice_plan,
    reminder_times,
    reminders_cancel,
    reminders_replan,
)

__all__ = [
    "BEFORE_KINDS",
    "NOTICE_KINDS",
    "after_quiet_hours",
    "appointment_kind",
    "in_quiet_hours",
    "plan_reminders",
    "reminder_notice_plan",
    "reminder_times",
    "reminders_cancel",
    "reminders_replan",
]
