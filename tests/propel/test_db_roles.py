"""Least privilege (issue 16, finding 5): the suite runs as the app role (tests/app_role.py), which
is no superuser and may only read and add audit events; and append-only tables refuse TRUNCATE
even to their owner, outside a maintenance session."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from propel.audit import audit_record
from propel.db_roles import APPEND_ONLY_TABLES_SQL, checked_role, keep_app_grants
from propel.models import AuditEvent
from tests.app_role import as_owner

pytestmark = [pytest.mark.postgres]

APPEND_ONLY = {
    "propel_auditevent",
    "intake_flagacknowledgement",
    "intake_clearancedecision",
    "intake_consentevent",
    "scheduling_visititemacknowledgement",
}


def rows(sql: str, params: list[object] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.django_db
def test_the_suite_is_connected_as_the_app_role_without_any_power():
    [(user, superuser, createdb, createrole, bypassrls)] = rows(
        "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"
    )
    assert user == settings.DATABASE_APP_ROLE
    assert (superuser, createdb, createrole, bypassrls) == (False, False, False, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE propel_auditevent SET action = 'rewritten' WHERE id = %s",
        "DELETE FROM propel_auditevent WHERE id = %s",
        "TRUNCATE propel_auditevent",
    ],
)
def test_the_app_role_may_not_change_or_empty_the_audit_log(patient, sql):
    event = audit_record(action="chart.viewed", patient_id=patient.pk)
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.pk] if "%s" in sql else None)
    assert AuditEvent.objects.get(pk=event.pk).action == "chart.viewed"


@pytest.mark.django_db
def test_every_table_grants_exactly_what_the_app_needs():
    """Rows on every table; only reading and adding on append-only ones; TRUNCATE on none."""
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    granted: dict[str, set[str]] = {}
    for (table,) in rows(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r'"
    ):
        granted[table] = {
            privilege
            for privilege in privileges
            if rows("SELECT has_table_privilege(current_user, %s, %s)", [table, privilege])[0][0]
        }
    append_only = {name for (name,) in rows(APPEND_ONLY_TABLES_SQL)}
    assert append_only >= APPEND_ONLY
    for table, held in granted.items():
        expected = (
            {"SELECT", "INSERT"}
            if table in append_only
            else {
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
            }
        )
        assert held == expected, table


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_even_the_owner_cannot_truncate_an_append_only_table(table):
    with as_owner(), pytest.raises(DatabaseError, match="append-only \\(TRUNCATE refused\\)"):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE")


@pytest.mark.django_db(transaction=True)
def test_a_maintenance_session_may_truncate(patient):
    audit_record(action="chart.viewed", patient_id=patient.pk)
    with as_owner(maintenance=True), connection.cursor() as cursor:
        cursor.execute("TRUNCATE propel_auditevent")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_migrate_grants_a_table_that_lost_its_grants():
    with as_owner(), connection.cursor() as cursor:
        cursor.execute(f"REVOKE ALL ON intake_patient FROM {settings.DATABASE_APP_ROLE}")
    with as_owner():
        call_command("migrate", verbosity=0)
    [(update,)] = rows("SELECT has_table_privilege(current_user, 'intake_patient', 'UPDATE')")
    assert update


@pytest.mark.django_db
def test_migrate_grants_nothing_where_the_app_role_does_not_exist(settings):
    """A developer's database without the roles migrates as before."""
    settings.DATABASE_APP_ROLE = "propel_nobody"
    keep_app_grants(sender=None, using="default")
    [(exists,)] = rows("SELECT count(*) FROM pg_roles WHERE rolname = 'propel_nobody'")
    assert exists == 0


@pytest.mark.parametrize("name", ["Propel", "propel-app", "app; DROP TABLE x", ""])
def test_a_role_name_that_is_not_a_plain_identifier_is_refused(name):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_APP_ROLE"):
        checked_role(name, "DATABASE_APP_ROLE")
