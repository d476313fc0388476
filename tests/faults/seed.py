"""What a fault test's app needs in a database the test process cannot reach with the ORM (the
private PostgreSQL cluster): run as `manage.py shell -c "from tests.faults.seed import ..."`."""

from __future__ import annotations

from django.utils import timezone

from propel.health import heartbeat_record
from tests.factories import AppointmentTypeFactory, ClinicianFactory, RoomFactory, open_weekdays


def online_clinic() -> None:
    """Weekdays 9-7, the self-bookable consultation, a consult room, a clinician, and a fresh
    worker heartbeat (so /healthz is all green while nothing has failed)."""
    open_weekdays()
    AppointmentTypeFactory()
    RoomFactory(name="Consult A")
    ClinicianFactory(display_name="Dr Example")
    heartbeat_record(worker="seed@faults", now=timezone.now())


def migrated_online_clinic() -> None:
    """`migrate`, then online_clinic(): one process instead of two (Django starts once)."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    online_clinic()
