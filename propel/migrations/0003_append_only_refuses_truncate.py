"""Append-only tables also refuse TRUNCATE (issue 16, finding 5).

A row trigger never fires for TRUNCATE, so migration 0002's trigger let the whole audit log be
emptied in one statement. The function now handles a statement-level BEFORE TRUNCATE trigger too,
attached to every append-only table that exists so far (tables made later get both triggers from
propel.append_only.append_only_trigger). A TRUNCATE passes only in a session that set
`propel.maintenance = 'on'` (the test suite's flush, or a DBA: docs/deployment.md); the app's role
has no TRUNCATE privilege at all (propel.db_roles).

This migration depends on the intake and scheduling migrations that made their append-only tables,
so it runs after them on a fresh database.
"""

from django.db import migrations

from propel.append_only import truncate_trigger_sql
from propel.db import PostgresOnlySQL

APPEND_ONLY_TABLES = (
    "propel_auditevent",
    "intake_flagacknowledgement",
    "intake_clearancedecision",
    "scheduling_visititemacknowledgement",
)

FUNCTION = """
CREATE OR REPLACE FUNCTION propel_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('propel.maintenance', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

# Migration 0002's function, for going back.
PREVIOUS_FUNCTION = """
CREATE OR REPLACE FUNCTION propel_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

FORWARD = FUNCTION + "\n".join(truncate_trigger_sql(table) for table in APPEND_ONLY_TABLES)
BACKWARD = (
    "\n".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};" for table in APPEND_ONLY_TABLES)
    + PREVIOUS_FUNCTION
)


class Migration(migrations.Migration):
    dependencies = [
        ("propel", "0002_audit_append_only"),
        ("intake", "0003_decisions_acknowledgements_check_ins"),
        ("scheduling", "0010_lifecycle_in_progress_policy_acknowledgements"),
    ]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
