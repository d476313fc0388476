"""The knobs of the scale clinic: window, mix, shares and batch size, in one place to tune."""

from __future__ import annotations

import datetime as dt

from scheduling.models import AppointmentStatus

EMAIL_PREFIX = "scale.patient."
PAST_WEEKS = 26
FUTURE_WEEKS = 8
CONSULT_BOOKED_AHEAD_DAYS = 21
FOLLOW_UP_WITHIN_DAYS = 70
TARGET_UTILISATION = 0.75
CONSULT_SHARE = 0.2
INFUSION_SHARE = (0.05, 0.45)
MAINTENANCE_PER_SESSION = 0.15
INFUSION_ROOM_SHARE = 0.55
ONLINE_SHARE = 0.4
COURSE_SIZES = (4, 5, 6, 6, 6, 7, 8, 8)
# Screening templates by the worst flag they raise ("info" also holds those raising none).
POOL_WEIGHTS = (("info", 0.55), ("review", 0.3), ("hard_stop", 0.08), ("urgent", 0.07))
BATCH = 1000
# The demo's appointment types (demo.seed.APPOINTMENT_TYPES).
CONSULTATION = "consultation"
INFUSION = "infusion"
MAINTENANCE = "maintenance"
FOLLOW_UP = "follow-up"
TYPE_CODES = (CONSULTATION, FOLLOW_UP, INFUSION, MAINTENANCE)
UTC = dt.UTC
WAITING = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
CANCEL_REASONS = ("Patient asked to cancel", "Patient unwell", "Clinic rescheduled", "")
