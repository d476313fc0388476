"""The same decision sent twice at once (a double click, two tabs) is recorded once.

The decision form carries the id of the latest decision the clinician saw;
intake.decisions.clearance_decide, given the decision the page showed, locks the round, then
re-checks it. Here one
"request" holds the round's lock and records a decision while the other waits on that lock.
The control shows the race is real: calling the service directly, the waiting request records a
second decision nobody reviewed. With the guard it raises DecisionChanged naming the first.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from intake.decisions import DecisionChanged, clearance_decide
from intake.models import ClearanceDecision, DecisionKind, IntakeSubmission
from tests.intake.review_data import sent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def wait_until_someone_waits_for_a_lock(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("the second request never waited for the round's lock")


def race(decide_second) -> object:
    """Record a decision while holding the round's lock, with `decide_second` waiting on it;
    return what `decide_second` returned or raised."""
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            outcome["result"] = decide_second()
        except Exception as error:  # reported to the test, which checks it
            outcome["result"] = error
        finally:
            connection.close()

    worker = threading.Thread(target=second)
    with transaction.atomic():
        submission = IntakeSubmission.objects.select_for_update().get()
        worker.start()
        wait_until_someone_waits_for_a_lock()
        ClearanceDecision.objects.create(
            patient_id=submission.patient_id,
            submission=submission,
            kind=DecisionKind.DECLINED,
            reason="Not suitable.",
            decided_by=decide_second.actor,
            decided_at=timezone.now(),
        )
    worker.join(timeout=30)
    assert not worker.is_alive()
    return outcome["result"]


@pytest.fixture
def round_(patient):
    return sent(patient)


def test_control_without_the_guard_both_decisions_are_recorded(round_, clinician_user):
    def decide_second():
        return clearance_decide(
            submission_id=round_.pk,
            actor=clinician_user,
            kind=DecisionKind.DECLINED,
            reason="Not suitable.",
        )

    decide_second.actor = clinician_user

    result = race(decide_second)

    assert isinstance(result, ClearanceDecision)
    assert ClearanceDecision.objects.count() == 2


def test_with_the_guard_the_second_is_refused_and_names_the_first(round_, clinician_user):
    def decide_second():
        return clearance_decide(
            submission_id=round_.pk,
            seen_decision_id=0,
            actor=clinician_user,
            kind=DecisionKind.DECLINED,
            reason="Not suitable.",
        )

    decide_second.actor = clinician_user

    result = race(decide_second)

    assert isinstance(result, DecisionChanged)
    assert result.latest == ClearanceDecision.objects.get()
    assert ClearanceDecision.objects.count() == 1
