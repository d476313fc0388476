"""Scale data for benchmarks: a busy, obviously fake clinic on top of the demo clinic.

`scale_seed` fills the database in one transaction with `patients` scale patients ("Scale Patient
00042", scale.patient.00042@example.test, 555-01xx phones) and exactly `appointments` appointments
over the past PAST_WEEKS and the next FUTURE_WEEKS, topping the demo's rooms and clinicians up to
`rooms` and `clinicians` (clinicians get staff logins made the way demo.seed makes them).
Deterministic for a seed and a database state. Run it after `seed_demo`: it reuses the demo's
opening hours, closures, appointment types and staff.

How it stays inside the rules without going through the booking services (too slow for 10,000
bookings):
- Times are allocated, never retried: a grid of cells (wall-clock, clinic time) per open day
  records what each room, clinician and patient holds, so no two appointments of a room, a
  clinician or a patient overlap (the exclusion constraints would refuse the insert otherwise),
  every appointment lies inside one opening window and one working-hours span of its clinician,
  and a patient has at most one appointment a day. Wall times become UTC one by one, so DST days
  are right. Existing appointments (the demo's) are marked busy first.
- Journeys: consultation, screening, a clinician's decision; cleared patients get an infusion
  course (4-8 sessions, the course rules of scheduling.courses.planner) booked after the
  clearance, maintenance infusions after a completed course, follow-ups after the consultation.
  Nobody has a treatment visit outside a clearance valid on its date. Booking times are never
  after `now` nor within an hour of the start (24 h for online bookings).
- The mix adapts to capacity: infusions tie up a clinician for two hours, so with few clinicians
  for the volume asked the share of infusions is lowered (down to INFUSION_SHARE[0]) until the
  planned clinician and room hours fit TARGET_UTILISATION of what the window offers; follow-ups
  make up the exact count.
- Stored answers, scores and flags come from the real scoring and eligibility rules, evaluated
  once per answer template (they depend on the clinical answers only: every scale patient is an
  adult and no template has a date answer). Reminder rows are what scheduling.reminder_plan
  .plan_reminders plans for future booked appointments. History rows and audit events mirror
  what the services write.
"""

from demo.scale_data.errors import ScaleSeedError
from demo.scale_data.parameters import EMAIL_PREFIX
from demo.scale_data.service import ScaleSummary, scale_patients_exist, scale_seed

__all__ = [
    "EMAIL_PREFIX",
    "ScaleSeedError",
    "ScaleSummary",
    "scale_patients_exist",
    "scale_seed",
]
