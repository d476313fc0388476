"""The crisis path at the moment of answering (screening reference §5.3; issue 14).

A saved step with PHQ-9 item 9 above 0, in a screening or a pre-infusion check-in, raises the
round's urgent flag and its CrisisAlert in the transaction that stores the answer, and writes the
outbox rows (CrisisNotification) that text the on-call clinician. Nothing waits for "Send".

- Levels (§5.3): item 9 = 1 is urgent (contact the same business day), 2 or more is immediate
  (a clinician phones within the hour). One alert per round; a later save may raise its priority,
  never lower it, and a changed answer never removes the alert or the flag.
- Who is told: the first active entry of the on-call rota (intake.models.OnCallClinician) by text,
  and CLINICIAN_ALERT_EMAILS by email (intake.alerts). Texts carry no health detail, no name and
  never the treatment: only how soon, and a link to the chart.
- Clinic hours (CRISIS_CALL_*, settings): inside them the text is due at once; outside them it is
  queued for the next opening (the issue: "queued for the first call"), while the patient's page
  says the clinic is closed and to call 988 or 911 now. The email and the staff banner are not
  held back.
- Escalation: an immediate alert still unacknowledged CRISIS_ESCALATION_MINUTES after its call was
  due goes to the next clinician on the rota and to the escalation contacts (the admin), by text
  and email, one step per interval, each step exactly once (unique rows, alert row locked).
- Sending: the beat sweep (intake.tasks.crisis_alerts_sweep) and a task queued after commit claim
  due rows with select_for_update(skip_locked=True); each row is sent once (the SMS idempotency
  key is the row's id) and its result recorded on the row, which the chart shows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.answers import CRISIS_ITEM, flag_evidence
from intake.call_hours import call_hours, next_opening
from intake.call_hours import clinic_open as clinic_open  # re-exported for existing callers
from intake.models import (
    AlertPriority,
    CrisisAlert,
    CrisisNotification,
    Flag,
    IntakeSubmission,
    NotificationChannel,
    NotificationState,
    OnCallClinician,
    OnCallRole,
    Severity,
)
from propel.audit import audit_record
from propel.emails import send_email
from propel.message_language import STAFF_LANGUAGE, in_language
from propel.roles import Role
from propel.sms import SmsPermanentError, SmsTransientError, get_sms_backend
from propel.tasks_queue import enqueue_on_commit

logger = logging.getLogger(__name__)

# Queued by name after commit (propel.tasks_queue): intake.tasks imports this module, not back.
SEND_ALERT_TASK = "intake.tasks.send_crisis_alert"
SEND_NOTIFICATIONS_TASK = "intake.tasks.send_crisis_notifications"

PRIORITY_RANK = {AlertPriority.URGENT: 1, AlertPriority.IMMEDIATE: 2}
MAX_SEND_ATTEMPTS = 5
RETRY_AFTER = dt.timedelta(minutes=1)


# --- Messages ----------------------------------------------------------------------------------


def chart_url(patient_id: int) -> str:
    return f"{settings.SITE_URL}{reverse('intake:chart', args=[patient_id])}"


def sms_body(*, priority: str, patient_id: int) -> str:
    """The text to a clinician: how soon and where, nothing else (no name, no health detail).
    In English, the staff's language, even when a Spanish answer raised the alert (issue 22); the
    email goes through propel.emails, English too."""
    with in_language(STAFF_LANGUAGE):
        if priority == AlertPriority.IMMEDIATE:
            lead = _("A patient needs a clinician now.")
        else:
            lead = _("A patient needs a clinician today.")
        return f"{lead} {_('Open Propel:')} {chart_url(patient_id)}"


# --- Raising -----------------------------------------------------------------------------------


def item9_value(answers: Mapping[str, Any]) -> int | None:
    value = answers.get(CRISIS_ITEM)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def crisis_alert_raise(
    *,
    submission: IntakeSubmission,
    priority: str,
    flag: Any,
    answers: Mapping[str, Any],
    now: dt.datetime,
) -> CrisisAlert:
    """Raise (or raise the priority of) the round's crisis alert, its urgent flag and its first
    call. Runs inside the caller's transaction, with the round's row locked by the caller, so
    the rows commit with the answer that caused them or not at all.

    Idempotent: one alert per round (its OneToOne), one flag per rule, one notification per step,
    priority and address. The priority only ever rises; a rise re-opens an acknowledged alert
    (the earlier acknowledgement stays in the audit log) and texts the on-call clinician again.
    `flag` is the eligibility FlagResult of the item-9 rule (title, evidence, source).
    """
    alert, created = _alert_raise_or_rise(submission, priority=priority, now=now)
    _urgent_flag_create(submission, flag=flag, answers=answers)
    rota = on_call_rota()
    if rota:
        _plan(alert, step=0, contacts=rota[:1], channels=(NotificationChannel.SMS,), due_at=None)
    else:
        logger.error("crisis alert %s: the on-call rota is empty; nobody was texted", alert.pk)
    if created:
        # A broker outage leaves the alert un-notified: the staff chart shows it and the sweep
        # (intake.tasks.crisis_alerts_sweep) sends it; the patient's page still shows.
        enqueue_on_commit(SEND_ALERT_TASK, alert.pk)
    _queue_send()
    return alert


def _alert_raise_or_rise(
    submission: IntakeSubmission, *, priority: str, now: dt.datetime
) -> tuple[CrisisAlert, bool]:
    """The round's alert, created at `priority` or raised to it (never lowered); and whether it
    was created. A rise re-opens an acknowledged alert. Audited either way."""
    patient = submission.patient
    alert = CrisisAlert.objects.select_for_update().filter(submission=submission).first()
    immediate = priority == AlertPriority.IMMEDIATE
    if alert is None:
        alert = CrisisAlert.objects.create(
            submission=submission,
            patient=patient,
            priority=priority,
            raised_at=now,
            call_due_at=next_opening(now, call_hours()),
            immediate_since=now if immediate else None,
        )
        audit_record(
            action="crisis_alert.raised",
            patient_id=patient.pk,
            obj=alert,
            detail={"priority": priority},
        )
        return alert, True
    if PRIORITY_RANK[AlertPriority(priority)] > PRIORITY_RANK[AlertPriority(alert.priority)]:
        previous = alert.priority
        reopened = alert.acknowledged_at is not None
        alert.priority = priority
        alert.immediate_since = now if immediate else alert.immediate_since
        alert.acknowledged_at = None
        alert.acknowledged_by = None
        alert.save(
            update_fields=["priority", "immediate_since", "acknowledged_at", "acknowledged_by"]
        )
        audit_record(
            action="crisis_alert.priority_raised",
            patient_id=patient.pk,
            obj=alert,
            detail={"from": previous, "to": priority, "reopened": reopened},
        )
    return alert, False


def _urgent_flag_create(
    submission: IntakeSubmission, *, flag: Any, answers: Mapping[str, Any]
) -> None:
    """The round's urgent flag for the item-9 rule, unless it is already there."""
    if Flag.objects.filter(submission=submission, rule_id=flag.rule_id).exists():
        return
    Flag.objects.create(
        submission=submission,
        rule_id=flag.rule_id,
        severity=Severity.URGENT,
        title=flag.title,
        evidence=flag_evidence(
            flag.evidence,
            answers,
            date_of_birth=submission.patient.date_of_birth,
            kind=submission.kind,
        ),
        source=flag.source,
    )


def _queue_send() -> None:
    # The rows are committed first; if the broker is down the beat sweep sends them within a minute.
    enqueue_on_commit(SEND_NOTIFICATIONS_TASK)


# --- Rota and planning -------------------------------------------------------------------------


def on_call_rota() -> list[OnCallClinician]:
    return list(
        OnCallClinician.objects.filter(role=OnCallRole.ROTA, active=True, user__is_active=True)
        .select_related("user")
        .order_by("order", "pk")
    )


def escalation_contacts() -> list[OnCallClinician]:
    return list(
        OnCallClinician.objects.filter(
            role=OnCallRole.ESCALATION, active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("order", "pk")
    )


def _plan(
    alert: CrisisAlert,
    *,
    step: int,
    contacts: Sequence[OnCallClinician],
    channels: Iterable[str],
    due_at: dt.datetime | None,
    extra_emails: Iterable[tuple[User, str]] = (),
) -> int:
    """Write the outbox rows of one step (ignoring rows already there); how many are new."""
    due = due_at or alert.call_due_at or alert.raised_at
    rows = []
    for contact in contacts:
        for channel in channels:
            to = str(contact.mobile) if channel == NotificationChannel.SMS else contact.user.email
            if to:
                rows.append((contact.user, channel, to))
    rows.extend((user, NotificationChannel.EMAIL, email) for user, email in extra_emails if email)
    before = CrisisNotification.objects.filter(alert=alert, step=step).count()
    CrisisNotification.objects.bulk_create(
        [
            CrisisNotification(
                alert=alert,
                step=step,
                priority=alert.priority,
                channel=channel,
                user=user,
                to=to,
                due_at=due,
            )
            for user, channel, to in rows
        ],
        ignore_conflicts=True,
    )
    return CrisisNotification.objects.filter(alert=alert, step=step).count() - before


# --- Escalation --------------------------------------------------------------------------------


def escalation_base(alert: CrisisAlert) -> dt.datetime:
    """When the escalation clock of an immediate alert starts: its first call (at once, or the
    next opening), or the moment it became immediate, whichever is later."""
    moments = [m for m in (alert.call_due_at, alert.immediate_since) if m is not None]
    return max(moments) if moments else alert.raised_at


def crisis_alerts_escalate(*, now: dt.datetime | None = None) -> int:
    """Plan the next escalation step of every immediate alert nobody has acknowledged for
    CRISIS_ESCALATION_MINUTES since its base (escalation_base) or its last step. Step n texts
    and emails the rota's (n mod its length)-th clinician and every escalation contact (or, with
    none listed, emails the Admin-role users); there are max(1, len(rota) - 1) steps.

    Exactly once per step: each alert row is locked (skip_locked, so two sweeps share the work)
    and re-checked, and the rows are unique per step. Returns the number of steps planned.
    """
    now = now or timezone.now()
    interval = dt.timedelta(minutes=settings.CRISIS_ESCALATION_MINUTES)
    candidates = list(
        CrisisAlert.objects.filter(
            priority=AlertPriority.IMMEDIATE,
            acknowledged_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    planned = sum(_escalate(alert_id, now=now, interval=interval) for alert_id in candidates)
    if planned:
        _queue_send()
    return planned


def _escalate(alert_id: int, *, now: dt.datetime, interval: dt.timedelta) -> bool:
    """Plan the alert's next escalation step if it is due; whether new rows were written. Its own
    transaction, the alert row locked (skipped when another sweep holds it) and re-checked."""
    with transaction.atomic():
        alert = (
            CrisisAlert.objects.select_for_update(skip_locked=True)
            .filter(pk=alert_id, acknowledged_at__isnull=True)
            .first()
        )
        if alert is None:
            return False
        rota = on_call_rota()
        last_step = (
            CrisisNotification.objects.filter(alert=alert, step__gt=0)
            .order_by("-step")
            .values_list("step", flat=True)
            .first()
        ) or 0
        step = last_step + 1
        if step > max(1, len(rota) - 1) or now < escalation_base(alert) + step * interval:
            return False
        contacts = [rota[step % len(rota)]] if rota else []
        escalation = escalation_contacts()
        admins: list[tuple[User, str]] = []
        if not escalation:
            admins = [
                (user, user.email)
                for user in User.objects.filter(groups__name=Role.ADMIN, is_active=True)
            ]
        new = _plan(
            alert,
            step=step,
            contacts=[*contacts, *escalation],
            channels=(NotificationChannel.SMS, NotificationChannel.EMAIL),
            due_at=now,
            extra_emails=admins,
        )
        if new:
            audit_record(
                action="crisis_alert.escalated",
                patient_id=alert.patient_id,
                obj=alert,
                detail={"step": step, "messages": new},
            )
        return bool(new)


# --- Sending -----------------------------------------------------------------------------------


def _deliver(notification: CrisisNotification, alert: CrisisAlert) -> None:
    if notification.channel == NotificationChannel.SMS:
        get_sms_backend().send(
            to=notification.to,
            body=sms_body(priority=notification.priority, patient_id=alert.patient_id),
            idempotency_key=f"crisis-notification-{notification.pk}",
        )
        return
    send_email(
        name="crisis_alert",
        to=[notification.to],
        context={
            "alert": alert,
            "priority": AlertPriority(notification.priority).label,
            "immediate": notification.priority == AlertPriority.IMMEDIATE,
            "raised_at": timezone.localtime(alert.raised_at),
            "chart_url": chart_url(alert.patient_id),
            "patient_number": alert.patient_id,
            "escalation_step": notification.step,
        },
    )


def crisis_notification_send(*, notification_id: int, now: dt.datetime | None = None) -> bool:
    """Send one due notification; True if this call sent it.

    Locks the row (skip_locked: a row another worker holds is left to it), re-checks it is
    pending and due, sends, records. A notification for an alert acknowledged in the meantime is
    cancelled, not sent. A transient error is retried by a later sweep (RETRY_AFTER), at most
    MAX_SEND_ATTEMPTS times; then, or on a permanent error, the row is marked failed and the
    audit log says so (the chart shows it).
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            CrisisNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("alert")
            .filter(pk=notification_id, state=NotificationState.PENDING, due_at__lte=now)
            .first()
        )
        if row is None:
            return False
        alert = row.alert
        if alert.acknowledged_at is not None:
            row.state = NotificationState.CANCELLED
            row.save(update_fields=["state"])
            return False
        row.attempts += 1
        try:
            _deliver(row, alert)
        except (SmsTransientError, OSError) as error:
            row.last_error = type(error).__name__
            if row.attempts >= MAX_SEND_ATTEMPTS:
                row.state = NotificationState.FAILED
                _failed(row, alert)
            else:
                row.due_at = now + RETRY_AFTER * row.attempts
            row.save(update_fields=["attempts", "last_error", "state", "due_at"])
            logger.warning("crisis notification %s: %s", row.pk, row.last_error)
            return False
        except SmsPermanentError as error:
            row.last_error = str(error)[:200]
            row.state = NotificationState.FAILED
            row.save(update_fields=["attempts", "last_error", "state"])
            _failed(row, alert)
            logger.error("crisis notification %s refused: %s", row.pk, error)
            return False
        row.state = NotificationState.SENT
        row.sent_at = now
        row.save(update_fields=["attempts", "state", "sent_at"])
        audit_record(
            action="crisis_alert.notification_sent",
            patient_id=alert.patient_id,
            obj=alert,
            detail={"step": row.step, "channel": row.channel, "user_id": row.user_id},
        )
    return True


def _failed(row: CrisisNotification, alert: CrisisAlert) -> None:
    audit_record(
        action="crisis_alert.notification_failed",
        patient_id=alert.patient_id,
        obj=alert,
        detail={"step": row.step, "channel": row.channel, "error": row.last_error},
    )


def crisis_notifications_due(*, now: dt.datetime) -> list[int]:
    return list(
        CrisisNotification.objects.filter(state=NotificationState.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    )


def crisis_notifications_send(*, now: dt.datetime | None = None) -> int:
    """Send every due notification; how many this call sent."""
    now = now or timezone.now()
    return sum(
        crisis_notification_send(notification_id=pk, now=now)
        for pk in crisis_notifications_due(now=now)
    )


# --- The staff banner --------------------------------------------------------------------------

BANNER_ROWS = 20


class BannerAlert(TypedDict):
    pk: int
    patient_id: int
    priority: str
    raised_at: dt.datetime


def open_alerts_for_banner() -> list[BannerAlert]:
    """The open alerts, immediate first then oldest: one query, at most BANNER_ROWS rows."""
    return list(
        CrisisAlert.objects.filter(acknowledged_at__isnull=True)
        .order_by("priority", "raised_at")
        .values("pk", "patient_id", "priority", "raised_at")[:BANNER_ROWS]
    )
