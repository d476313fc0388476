"""Per-account lockout: after LOGIN_ACCOUNT_FAILURE_LIMIT failed passwords for one username within
LOGIN_ACCOUNT_FAILURE_WINDOW_MINUTES, from any addresses, sign-in to it is shut until an admin
unlocks it. The per-address rule (django-axes: AXES_FAILURE_LIMIT per username + address, with a
cool-off) stays as it is.

Built on django-axes: every failure is in its AccessFailureLog (AXES_ENABLE_ACCESS_FAILURE_LOG),
and PropelAxesHandler (AXES_HANDLER) adds the account lock to axes's own "is this locked?"
question, so a locked account gets axes's usual locked page, even with the right password: the
attacker learns nothing an address lockout does not already say. The owner gets one email per lock
(propel.tasks.send_account_locked_email); an admin unlocks it (propel.admin.AccountLockAdmin).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from propel.audit import audit_record
from propel.emails import send_email
from propel.models import AccountLock
from propel.tasks_queue import enqueue_on_commit

logger = logging.getLogger(__name__)

# axes keeps usernames in 255 characters; a longer one typed at the sign-in page is cut to that,
# so it is counted as a failure like any other instead of failing to save.
USERNAME_WIDTH = AccessAttempt._meta.get_field("username").max_length or 255


def username_for_axes(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """AXES_USERNAME_CALLABLE: the username tried (from the credentials, else the form), cut to
    the width axes stores."""
    # axes.conf fills AXES_USERNAME_FORM_FIELD in at start-up (the user model's USERNAME_FIELD).
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    source = credentials or getattr(request, "POST", {})
    username = source.get(field)
    return str(username or "")[:USERNAME_WIDTH]


def account_locked(username: str) -> bool:
    return AccountLock.objects.filter(username=username, unlocked_at__isnull=True).exists()


def recent_failures(username: str, *, now: dt.datetime) -> int:
    """Failed passwords for `username` within the window, not counting any before its last
    unlock (an unlocked account starts afresh)."""
    since = now - dt.timedelta(minutes=settings.LOGIN_ACCOUNT_FAILURE_WINDOW_MINUTES)
    last_unlock = AccountLock.objects.filter(username=username).aggregate(last=Max("unlocked_at"))[
        "last"
    ]
    if last_unlock is not None and last_unlock > since:
        since = last_unlock
    failures = AccessFailureLog.objects.filter(username=username, attempt_time__gte=since)
    return int(failures.count())


def account_failure_record(request: HttpRequest | None, username: str) -> AccountLock | None:
    """After a failed password for `username`: lock the account if it has now reached the limit.
    Returns the new lock, or None (under the limit, or already locked)."""
    if not username:
        return None
    now = timezone.now()
    failures = recent_failures(username, now=now)
    if failures < settings.LOGIN_ACCOUNT_FAILURE_LIMIT:
        return None
    with transaction.atomic():
        lock, created = AccountLock.objects.get_or_create(
            username=username,
            unlocked_at=None,
            defaults={"locked_at": now, "failures": failures},
        )
        if not created:
            return None
        audit_record(
            action="auth.account_locked",
            request=request,
            obj=lock,
            detail={"failures": failures},
        )
        # A broker outage is logged by enqueue_on_commit and never reaches the sign-in page.
        enqueue_on_commit("propel.tasks.send_account_locked_email", lock.pk)
    return lock


def account_unlock(*, lock: AccountLock, request: HttpRequest) -> bool:
    """An admin opens a locked account again (and clears its per-address lockouts, so the owner
    can sign in at once). False if it was already open."""
    with transaction.atomic():
        lock = AccountLock.objects.select_for_update().get(pk=lock.pk)
        if lock.unlocked_at is not None:
            return False
        lock.unlocked_at = timezone.now()
        lock.unlocked_by = request.user if request.user.is_authenticated else None
        lock.save(update_fields=["unlocked_at", "unlocked_by"])
        AccessAttempt.objects.filter(username=lock.username).delete()
        audit_record(action="auth.account_unlocked", request=request, obj=lock)
    return True


def account_locked_email_send(*, lock_id: int) -> None:
    """Tell the account's owner their sign-in was locked (once per lock; nothing if the username
    is no account or the account has no email address)."""
    with transaction.atomic():
        lock = AccountLock.objects.select_for_update().get(pk=lock_id)
        if lock.notified_at is not None:
            return
        user = _user_named(lock.username)
        if user is not None and user.email:
            send_email(
                name="account_locked",
                to=[user.email],
                context={"user": user, "lock": lock},
            )
        lock.notified_at = timezone.now()
        lock.save(update_fields=["notified_at"])


# How long a lock's email may wait for its own queued task before the sweep sends it instead.
EMAIL_SWEEP_AFTER = dt.timedelta(minutes=2)


def account_lock_emails_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Send the email of every open lock whose queued task never ran (the broker was down when
    the account locked). Beat runs it every few minutes; each email still goes once per lock
    (account_locked_email_send locks the row and checks `notified_at`). Returns the lock ids."""
    now = now or timezone.now()
    lock_ids = list(
        AccountLock.objects.filter(
            unlocked_at=None, notified_at=None, locked_at__lte=now - EMAIL_SWEEP_AFTER
        ).values_list("pk", flat=True)
    )
    for lock_id in lock_ids:
        account_locked_email_send(lock_id=lock_id)
    return lock_ids


def _user_named(username: str) -> Any:
    return get_user_model()._default_manager.filter(username=username, is_active=True).first()


class PropelAxesHandler(AxesDatabaseHandler):  # type: ignore[misc]  # axes ships no types
    """axes's database handler, plus the per-account lock."""

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        return account_locked(get_client_username(request, credentials))

    def user_login_failed(
        self,
        sender: Any,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        username = get_client_username(request, credentials)
        account_failure_record(request, username)
        if account_locked(username):
            # What axes's own handler does on reaching its limit: its middleware then answers
            # with the locked page instead of the form.
            request.axes_locked_out = True  # type: ignore[attr-defined]
            request.axes_credentials = credentials  # type: ignore[attr-defined]
