"""Issue 16, findings 4 and 7: a lock per account across all addresses (propel.account_lock), on
top of the per-address rule, with an admin unlock and one email to the owner; an over-long
username is a normal failed sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessFailureLog
from django.core import mail
from django.test import Client
from django.urls import reverse

from propel.account_lock import account_lock_emails_sweep
from propel.models import AccountLock, AuditEvent
from tests.clinic_time import stopped_clock
from tests.eager import eager_tasks
from tests.factories import TEST_PASSWORD

NOW = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)
LOGIN = reverse("propel:login")
SECOND_FACTOR = reverse("propel:second_factor")
LOCKS = reverse("admin:propel_accountlock_changelist")


@pytest.fixture(autouse=True)
def _frozen_clock():
    yield from stopped_clock(NOW)


@pytest.fixture(autouse=True)
def _tasks_run_here():
    with eager_tasks():
        yield


def sign_in(username: str, password: str, address: str):
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def wrong_passwords_from_many_addresses(username: str, addresses: int, each: int = 5) -> None:
    for number in range(addresses):
        for _attempt in range(each):
            sign_in(username, "not the password", f"10.1.{number}.1")


def unlock(admin_client: Client, lock: AccountLock):
    return admin_client.post(
        LOCKS, {"action": "unlock", "_selected_action": [lock.pk]}, follow=True
    )


def test_105_wrong_passwords_from_21_addresses_lock_the_account_until_an_admin_unlocks_it(
    front_desk, admin_user, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wrong_passwords_from_many_addresses("frontdesk", addresses=21)

    right_password = sign_in("frontdesk", TEST_PASSWORD, "10.9.9.9")  # a fresh address

    assert right_password.status_code == 429
    assert "Sign-in is paused" in right_password.content.decode()
    lock = AccountLock.objects.get(username="frontdesk", unlocked_at=None)
    assert lock.failures == 10
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [front_desk.email]
    assert "locked" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(action="auth.account_locked").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = unlock(client_for(admin_user), lock)

    assert response.status_code == 200
    assert "1 account unlocked." in response.content.decode()
    unlocked = AuditEvent.objects.get(action="auth.account_unlocked")
    assert unlocked.actor == admin_user
    assert unlocked.object_id == str(lock.pk)
    after = sign_in("frontdesk", TEST_PASSWORD, "10.1.20.1")  # even the last address tried
    assert after.status_code == 302
    assert after["Location"] == SECOND_FACTOR
    assert len(mail.outbox) == 1  # one email per lock, whatever happened after


def test_the_right_password_under_the_account_limit_still_signs_in(front_desk):
    wrong_passwords_from_many_addresses("frontdesk", addresses=3, each=3)  # 9 < 10

    response = sign_in("frontdesk", TEST_PASSWORD, "10.9.9.9")

    assert response.status_code == 302
    assert not AccountLock.objects.exists()


def test_failures_older_than_the_window_do_not_count(front_desk):
    wrong_passwords_from_many_addresses("frontdesk", addresses=1, each=4)
    with time_machine.travel(NOW + dt.timedelta(minutes=61), tick=False):
        wrong_passwords_from_many_addresses("frontdesk", addresses=2, each=3)
        response = sign_in("frontdesk", TEST_PASSWORD, "10.9.9.9")

    assert response.status_code == 302


def test_a_username_that_is_no_account_is_locked_the_same_and_nobody_is_emailed(db):
    wrong_passwords_from_many_addresses("nobody-here", addresses=3)

    assert AccountLock.objects.filter(username="nobody-here").exists()
    assert sign_in("nobody-here", "anything", "10.9.9.9").status_code == 429
    assert mail.outbox == []


def test_a_second_lock_after_an_unlock_sends_a_second_email(
    front_desk, admin_user, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wrong_passwords_from_many_addresses("frontdesk", addresses=2)
        unlock(client_for(admin_user), AccountLock.objects.get())
        wrong_passwords_from_many_addresses("frontdesk", addresses=2)  # counted afresh

    assert AccountLock.objects.filter(unlocked_at=None).count() == 1
    assert len(mail.outbox) == 2


def test_a_broker_outage_does_not_break_the_login_page(
    front_desk, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []

    def broker_down(task, *args, **kwargs):
        queued.append((task.name, *args))
        raise ConnectionError("broker down")

    monkeypatch.setattr("celery.app.task.Task.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(2):
            for _attempt in range(5):
                response = sign_in("frontdesk", "not the password", f"10.2.{number}.1")
                assert response.status_code in (200, 429)

    assert queued == [
        ("propel.tasks.send_account_locked_email", AccountLock.objects.get().pk)
    ]  # tried once, failed, logged
    assert sign_in("frontdesk", TEST_PASSWORD, "10.9.9.9").status_code == 429
    assert mail.outbox == []


def test_the_sweep_sends_a_lock_email_the_broker_outage_kept_back_once(front_desk, monkeypatch):
    monkeypatch.setattr("celery.app.task.Task.delay", lambda *a, **k: 1 / 0)
    wrong_passwords_from_many_addresses("frontdesk", addresses=2)
    lock = AccountLock.objects.get()
    assert lock.notified_at is None and mail.outbox == []

    assert account_lock_emails_sweep(now=NOW + dt.timedelta(minutes=1)) == []  # its task may run
    assert account_lock_emails_sweep(now=NOW + dt.timedelta(minutes=3)) == [lock.pk]
    assert account_lock_emails_sweep(now=NOW + dt.timedelta(minutes=8)) == []
    (message,) = mail.outbox
    assert message.to == [front_desk.email]


def test_only_clinic_admins_see_the_locks(client_for, front_desk):
    assert client_for(front_desk).get(LOCKS).status_code in (302, 403)


@pytest.mark.parametrize("length", [256, 10_000])
def test_an_over_long_username_is_a_normal_failed_sign_in(db, length):
    username = "a" * length

    response = sign_in(username, "anything", "10.3.0.1")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert AccessFailureLog.objects.filter(username=username[:255]).count() == 1
