"""When a pre-infusion check-in round may be answered: a gate scheduling supplies.

intake never imports scheduling (design: scheduling -> intake -> propel), yet only scheduling
knows the visit a check-in round belongs to and when its window opens and closes
(scheduling.check_ins). So scheduling registers its gate here at start-up
(scheduling.review_hooks.register), as it does the review queue's consultation lookup. Without a
gate every round may be answered (intake alone, as in intake's own tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

# (submission id, now) -> why the round may not be answered now, in words for the patient; or None.
CheckInGate = Callable[[int, dt.datetime], str | None]


def _always_open(submission_id: int, now: dt.datetime) -> str | None:
    return None


_gate: CheckInGate = _always_open


def set_check_in_gate(gate: CheckInGate) -> CheckInGate:
    """Install `gate`; returns the previous one (tests put it back)."""
    global _gate
    previous = _gate
    _gate = gate
    return previous


def check_in_closed(submission_id: int, now: dt.datetime) -> str | None:
    """Why this unsent check-in round may not be answered now, or None when it may."""
    return _gate(submission_id, now)
