"""Admin-role users manage the clinic's settings in the admin through their role alone; other
roles get nothing there, and appointments stay read-only even for admins."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scheduling.models import Room, RoomKind
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def test_an_admin_can_add_a_room_without_any_permission_rows(client_for, admin_user):
    assert not admin_user.user_permissions.exists()
    client = client_for(admin_user)
    assert client.get(reverse("admin:scheduling_room_changelist")).status_code == 200
    response = client.post(
        reverse("admin:scheduling_room_add"),
        {"name": "Infusion Suite 9", "kind": "infusion", "active": "on"},
    )
    assert response.status_code == 302
    assert Room.objects.filter(name="Infusion Suite 9", kind=RoomKind.INFUSION).exists()


@pytest.mark.parametrize(
    "page",
    [
        "admin:scheduling_openinghours_changelist",
        "admin:auth_user_changelist",
        "admin:scheduling_closure_add",
        "admin:otp_totp_totpdevice_changelist",
    ],
)
def test_an_admin_reaches_hours_closures_users_and_devices(client_for, admin_user, page):
    assert client_for(admin_user).get(reverse(page)).status_code == 200


def test_appointments_are_read_only_in_the_admin(client_for, admin_user):
    appointment = AppointmentFactory()
    client = client_for(admin_user)
    assert client.get(reverse("admin:scheduling_appointment_add")).status_code == 403
    response = client.post(
        reverse("admin:scheduling_appointment_change", args=[appointment.pk]),
        {"status": "cancelled"},
    )
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "booked"


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user"])
def test_other_roles_cannot_manage_rooms(client_for, persona, request):
    user = request.getfixturevalue(persona)
    response = client_for(user).get(reverse("admin:scheduling_room_changelist"))
    assert response.status_code in (302, 403)
    assert not user.has_perm("scheduling.add_room")
