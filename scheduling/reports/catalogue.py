"""Every report, in page order, and who may read it: the operational ones every staff role, the
clinical ones (marked) clinicians and admin only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scheduling.reports import attendance, clinical, delivery, lead_times, utilisation
from scheduling.reports.period import Period
from scheduling.reports.tables import Report


@dataclass(frozen=True)
class Entry:
    key: str
    build: Callable[[Period], Report]
    clinical: bool = False


REPORTS = (
    Entry("utilisation", utilisation.utilisation),
    Entry("attendance", attendance.attendance),
    Entry("lead-times", lead_times.lead_times),
    Entry("deferrals", lambda period: delivery.deferrals(period, with_reasons=False)),
    Entry("delivery", delivery.delivery),
    Entry("courses", clinical.courses, clinical=True),
    Entry(
        "deferrals-by-reason",
        lambda period: delivery.deferrals(period, with_reasons=True),
        clinical=True,
    ),
    Entry("outcomes", clinical.outcomes, clinical=True),
)
BY_KEY = {entry.key: entry for entry in REPORTS}


def visible(clinical_allowed: bool) -> list[Entry]:
    return [entry for entry in REPORTS if clinical_allowed or not entry.clinical]
