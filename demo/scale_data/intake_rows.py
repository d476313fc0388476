"""Rows of the intake side: scale patients, screening rounds, flags, crisis alerts,
clearance decisions and their audit events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from demo.scale_data.answers import _Template
from demo.scale_data.parameters import BATCH, EMAIL_PREFIX
from demo.scale_data.placement import _Patient
from demo.scale_data.rows import _phone, _Rows
from demo.seed import DEMO_EMAIL_DOMAIN
from intake.models import (
    AlertPriority,
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Patient,
    Severity,
    SubmissionKind,
    SubmissionStatus,
)
from intake.questions import SECTION_KEYS


class _IntakeRows(_Rows):
    """The writer's intake rows; _Writer.write says in which order they are inserted."""

    # Patients and their screening ---------------------------------------------------------

    def _patients(self) -> list[Patient]:
        rows = []
        for p in self.plan.patients:
            assert p.created_at is not None
            escort = p.screening == "submitted"
            rows.append(
                Patient(
                    first_name="Scale",
                    last_name=f"Patient {p.number:05d}",
                    date_of_birth=p.dob,
                    email=f"{EMAIL_PREFIX}{p.number:05d}@{DEMO_EMAIL_DOMAIN}",
                    mobile=_phone(p.number),
                    consent_email=p.email_ok,
                    consent_email_at=p.created_at if p.email_ok else None,
                    consent_sms=p.sms_ok,
                    consent_sms_at=p.created_at if p.sms_ok else None,
                    escort_name=f"Scale Driver {p.number:05d}" if escort else "",
                    escort_phone=_phone(p.number + 37) if escort else "",
                    created_at=p.created_at,
                    updated_at=p.submitted_at or p.created_at,
                )
            )
        Patient.objects.bulk_create(rows, batch_size=BATCH)
        return rows

    def _answers(self, p: _Patient) -> dict[str, Any]:
        return {
            **self.plan.templates[p.pool][p.template].answers,
            "emergency_name": f"Scale Contact {p.number:05d}",
            "emergency_phone": _phone(p.number + 11),
            "escort_name": f"Scale Driver {p.number:05d}",
            "escort_phone": _phone(p.number + 37),
            "signature_name": f"Scale Patient {p.number:05d}",
        }

    def _screenings(self, people: list[Patient]) -> None:
        rounds: list[tuple[_Patient, IntakeSubmission]] = []
        for p, row in zip(self.plan.patients, people, strict=True):
            if not p.screening:
                continue
            assert p.created_at is not None
            submitted = p.screening == "submitted"
            template = self.plan.templates[p.pool][p.template]
            done = len(SECTION_KEYS) if submitted else self.rng.randrange(1, len(SECTION_KEYS))
            started = p.created_at + dt.timedelta(minutes=self.rng.randint(1, 30))
            if p.submitted_at:
                started = min(started, p.submitted_at - dt.timedelta(minutes=20))
            rounds.append(
                (
                    p,
                    IntakeSubmission(
                        patient=row,
                        kind=SubmissionKind.SCREENING,
                        round=1,
                        status=SubmissionStatus.SUBMITTED if submitted else SubmissionStatus.DRAFT,
                        answers=self._answers(p),
                        completed_sections=list(SECTION_KEYS[:done]),
                        scores=template.scores if submitted else {},
                        submitted_at=p.submitted_at,
                        started_at=started,
                        updated_at=p.submitted_at or started,
                    ),
                )
            )
            if p.decision == DecisionKind.NEEDS_INFORMATION:
                assert p.decided_at is not None
                rounds.append(
                    (
                        p,
                        IntakeSubmission(
                            patient=row,
                            kind=SubmissionKind.SCREENING,
                            round=2,
                            answers=self._answers(p),
                            completed_sections=[k for k in SECTION_KEYS if k != "medications"],
                            info_request="Please list every medicine you take, with the dose.",
                            started_at=p.decided_at,
                            updated_at=p.decided_at,
                        ),
                    )
                )
        IntakeSubmission.objects.bulk_create([r for _, r in rounds], batch_size=BATCH)
        submitted = [(p, s) for p, s in rounds if s.status == SubmissionStatus.SUBMITTED]
        self._flags_and_decisions(submitted)

    def _flags_and_decisions(self, submitted: list[tuple[_Patient, IntakeSubmission]]) -> None:
        flags: list[tuple[_Patient, Flag]] = []
        alerts, decisions = [], []
        for p, submission in submitted:
            template = self.plan.templates[p.pool][p.template]
            flags += [(p, flag) for flag in self._sent_round(submission, template)]
            if (alert := self._crisis_alert(p, submission, template)) is not None:
                alerts.append(alert)
            if p.decision:
                decisions.append(self._decision(p, submission))
        Flag.objects.bulk_create([f for _, f in flags], batch_size=BATCH)
        CrisisAlert.objects.bulk_create(alerts, batch_size=BATCH)
        ClearanceDecision.objects.bulk_create(decisions, batch_size=BATCH)
        acknowledgements = self._flag_acknowledgements(flags)
        FlagAcknowledgement.objects.bulk_create(acknowledgements, batch_size=BATCH)
        self._alert_events(alerts)
        self._acknowledgement_events(acknowledgements)
        self._decision_events(decisions)

    def _crisis_alert(
        self, p: _Patient, submission: IntakeSubmission, template: _Template
    ) -> CrisisAlert | None:
        """The crisis alert the round's urgent flags raised, acknowledged as the plan says."""
        assert p.submitted_at is not None
        urgent = [r for r, _ in template.flags if r.severity == Severity.URGENT]
        if not urgent:
            return None
        immediate = any(r.priority == AlertPriority.IMMEDIATE for r in urgent)
        acknowledged = p.alert_acknowledged_at
        return CrisisAlert(
            submission=submission,
            patient_id=submission.patient_id,
            priority=AlertPriority.IMMEDIATE if immediate else AlertPriority.URGENT,
            raised_at=p.submitted_at,
            notified_at=min(p.submitted_at + dt.timedelta(minutes=1), self.c.now),
            acknowledged_at=acknowledged,
            acknowledged_by_id=self.c.clinician_users[p.clinician] if acknowledged else None,
            outcome="Phoned the patient: safe, plan documented." if acknowledged else "",
        )

    def _flag_acknowledgements(
        self, flags: list[tuple[_Patient, Flag]]
    ) -> list[FlagAcknowledgement]:
        """A cleared patient's flags, each acknowledged by their clinician before the decision."""
        acknowledgements = []
        for p, flag in flags:
            if p.decision == DecisionKind.CLEARED:
                assert p.decided_at is not None
                acknowledgements.append(
                    FlagAcknowledgement(
                        flag=flag,
                        by_id=self.c.clinician_users[p.clinician],
                        at=p.decided_at - dt.timedelta(minutes=self.rng.randint(1, 9)),
                        note="Reviewed with the patient at the consultation.",
                    )
                )
        return acknowledgements

    def _alert_events(self, alerts: list[CrisisAlert]) -> None:
        for alert in alerts:
            self._event(
                "crisis_alert.raised",
                at=alert.raised_at,
                actor=None,
                patient=alert.patient_id,
                obj=alert,
                detail={"priority": alert.priority},
            )
            if alert.acknowledged_at:
                self._event(
                    "crisis_alert.acknowledged",
                    at=alert.acknowledged_at,
                    actor=alert.acknowledged_by_id,
                    patient=alert.patient_id,
                    obj=alert,
                    detail={"priority": alert.priority, "submission_id": alert.submission_id},
                )

    def _acknowledgement_events(self, acknowledgements: list[FlagAcknowledgement]) -> None:
        for ack in acknowledgements:
            self._event(
                "flag.acknowledged",
                at=ack.at,
                actor=ack.by_id,
                patient=ack.flag.submission.patient_id,
                obj=ack,
                detail={"flag_id": ack.flag_id, "submission_id": ack.flag.submission_id},
            )

    def _decision_events(self, decisions: list[ClearanceDecision]) -> None:
        for decision in decisions:
            detail: dict[str, Any] = {"round": 1, "submission_id": decision.submission_id}
            if decision.kind == DecisionKind.CLEARED:
                assert decision.valid_until is not None
                detail |= {"valid_until": decision.valid_until.isoformat(), "override": False}
            elif decision.kind == DecisionKind.NEEDS_INFORMATION:
                detail |= {"sections": ["medications"], "reopened_round": 2}
            self._event(
                f"clearance.{decision.kind}",
                at=decision.decided_at,
                actor=decision.decided_by_id,
                patient=decision.patient_id,
                obj=decision,
                detail=detail,
            )

    def _decision(self, p: _Patient, submission: IntakeSubmission) -> ClearanceDecision:
        reasons = {
            DecisionKind.CLEARED: "",
            DecisionKind.DECLINED: "Not suitable for infusion at this time; see the notes.",
            DecisionKind.NEEDS_INFORMATION: "Please list every medicine you take, with the dose.",
        }
        assert p.decided_at is not None
        return ClearanceDecision(
            patient_id=submission.patient_id,
            submission=submission,
            kind=p.decision,
            valid_until=p.valid_until,
            reason=reasons[DecisionKind(p.decision)],
            decided_by_id=self.c.clinician_users[p.clinician],
            decided_at=p.decided_at,
        )
