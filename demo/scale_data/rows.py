"""What every row writer shares: the audit events it collects, bulk inserts that keep their
own timestamps, fictional phone numbers."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import DateField, Model, TimeField

from demo.scale_data.answers import _Template
from demo.scale_data.context import _Context
from demo.scale_data.plan import _Planner
from intake.models import Flag, IntakeSubmission, SubmissionKind
from propel.models import AuditEvent
from scheduling.visits.common import thresholds_from_settings


@contextmanager
def _own_timestamps(*models: type[Model]) -> Iterator[None]:
    """Let bulk_create keep the times set on the rows of `models`.

    Their auto_now/auto_now_add fields would stamp every row with the wall-clock time, but
    generated history carries its own times, and updating 10,000 rows afterwards costs more than
    the inserts. The fields' flags are restored on the way out; this runs in a management
    command (one thread), never in a web process.
    """
    saved = [
        (f, f.auto_now, f.auto_now_add)
        for model in models
        for f in model._meta.concrete_fields
        if isinstance(f, DateField | TimeField) and (f.auto_now or f.auto_now_add)
    ]
    for f, _, _ in saved:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _phone(number: int) -> str:
    """A number in the 555-0100..555-0199 range, reserved for fiction."""
    return f"+1916555{100 + number % 100:04d}"


class _Rows:
    """The writer's state: the context, the plan, its own random source and the audit events
    written last."""

    def __init__(self, context: _Context, planner: _Planner, *, seed: int) -> None:
        self.c, self.plan = context, planner
        self.rng = random.Random(f"rows-{seed}")  # noqa: S311 - fake data, not security
        self.audit: list[AuditEvent] = []
        self.thresholds = thresholds_from_settings()

    def _event(
        self,
        action: str,
        *,
        at: dt.datetime,
        actor: int | None,
        patient: int,
        obj: Any,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.audit.append(
            AuditEvent(
                at=at,
                actor_id=actor,
                actor_label=self.c.usernames.get(actor, "system") if actor else "system",
                action=action,
                patient_id=patient,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                detail=detail or {},
            )
        )

    def _sent_round(self, submission: IntakeSubmission, template: _Template) -> list[Flag]:
        """A sent round's "intake.submitted" event, and its template's flags (to insert), both at
        the time it was sent: what intake.screening.intake_submit writes."""
        at = submission.submitted_at
        assert at is not None
        detail: dict[str, Any] = {"round": submission.round}
        if submission.kind != SubmissionKind.SCREENING:
            detail["kind"] = str(submission.kind)
        self._event(
            "intake.submitted",
            at=at,
            actor=None,
            patient=submission.patient_id,
            obj=submission,
            detail=detail,
        )
        return [
            Flag(
                submission=submission,
                rule_id=result.rule_id,
                severity=result.severity,
                title=result.title,
                evidence=evidence,
                source=result.source,
                created_at=at,
            )
            for result, evidence in template.flags
        ]
