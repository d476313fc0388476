"""The Django admin is for verified users in the Admin role only; the audit log in it is
read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from propel.admin import PropelAdminSite
from propel.audit import audit_record
from propel.models import AuditEvent
from tests.factories import UserFactory

ADMIN_INDEX = reverse("admin:index")
AUDIT_LIST = reverse("admin:propel_auditevent_changelist")
LOGIN = reverse("propel:login")


@pytest.fixture
def events(admin_user):
    first = audit_record(action="patient.viewed", actor=admin_user, patient_id=41)
    second = audit_record(action="auth.login", actor=admin_user)
    third = audit_record(action="patient.viewed", actor=admin_user, patient_id=42)
    return first, second, third


def test_the_default_site_is_ours():
    assert isinstance(admin.site, PropelAdminSite)
    assert str(admin.site.site_header) == "Propel clinic settings"


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(client):
    response = client.get(ADMIN_INDEX, follow=True)

    assert response.redirect_chain[-1] == (f"{LOGIN}?next=%2Fadmin%2F", 302)
    assert response.status_code == 200


def test_the_admin_login_page_itself_goes_to_the_staff_sign_in(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fadmin%2F"


def test_the_admin_login_page_sends_a_verified_admin_to_the_index(client_for, admin_user):
    response = client_for(admin_user).get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user"])
def test_staff_without_the_admin_role_are_refused(client_for, persona, request):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(ADMIN_INDEX, follow=True).status_code == 403
    assert client.get(AUDIT_LIST, follow=True).status_code == 403


def test_a_superuser_without_the_admin_role_is_refused(client_for, db):
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)

    assert client_for(superuser).get(ADMIN_INDEX, follow=True).status_code == 403


def test_an_admin_without_the_second_factor_is_sent_to_it(admin_user):
    client = Client()
    client.force_login(admin_user)

    response = client.get(ADMIN_INDEX)

    assert response.status_code == 302
    assert response["Location"] == reverse("propel:second_factor")


def test_the_site_itself_refuses_an_admin_without_the_second_factor(admin_user):
    # Belt and braces: even without SecondFactorRequiredMiddleware in front of it.
    request = RequestFactory().get(ADMIN_INDEX)
    request.user = admin_user
    admin_user.is_verified = lambda: False

    assert not admin.site.has_permission(request)


def test_an_inactive_admin_is_refused(admin_user):
    request = RequestFactory().get(ADMIN_INDEX)
    request.user = admin_user
    admin_user.is_verified = lambda: True
    admin_user.is_active = False

    assert not admin.site.has_permission(request)


def test_a_verified_admin_gets_in(client_for, admin_user):
    response = client_for(admin_user).get(ADMIN_INDEX)

    assert response.status_code == 200
    assert "Propel clinic settings" in response.content.decode()
    assert AUDIT_LIST in response.content.decode()


def test_the_audit_log_lists_and_filters_by_action(client_for, admin_user, events):
    client = client_for(admin_user)

    response = client.get(AUDIT_LIST, {"action": "auth.login"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [events[1]]


def test_the_audit_log_searches_by_patient_number_and_records_the_look_up(
    client_for, admin_user, events
):
    client = client_for(admin_user)

    response = client.get(AUDIT_LIST, {"q": "42"})

    viewed = AuditEvent.objects.get(action="audit.viewed")
    assert viewed.patient_id == 42
    assert viewed.actor == admin_user
    assert list(response.context["cl"].result_list) == [viewed, events[2]]  # newest first


def test_a_search_that_is_not_a_patient_number_finds_nothing(client_for, admin_user, events):
    response = client_for(admin_user).get(AUDIT_LIST, {"q": "Smith"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_the_audit_log_cannot_be_added_to_changed_or_deleted(client_for, admin_user, events):
    client = client_for(admin_user)
    event = events[0]
    change_url = reverse("admin:propel_auditevent_change", args=[event.pk])

    assert client.get(reverse("admin:propel_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:propel_auditevent_delete", args=[event.pk])).status_code == 403
    page = client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change_url, {"action": "tampered"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "patient.viewed"
    list_page = client.get(AUDIT_LIST).content.decode()
    assert 'name="action"' not in list_page.split('id="changelist-filter"')[0]  # no bulk actions


def test_signing_out_of_the_admin_is_the_staff_sign_out(client_for, admin_user):
    client = client_for(admin_user)

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert AuditEvent.objects.filter(action="auth.logout", actor=admin_user).exists()
    assert client.get(ADMIN_INDEX)["Location"].startswith(reverse("admin:login"))
