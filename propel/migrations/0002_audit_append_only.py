from django.db import migrations

from propel.db import PostgresOnlySQL

FORWARD = """
CREATE OR REPLACE FUNCTION propel_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER propel_auditevent_append_only
    BEFORE UPDATE OR DELETE ON propel_auditevent
    FOR EACH ROW EXECUTE FUNCTION propel_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS propel_auditevent_append_only ON propel_auditevent;
DROP FUNCTION IF EXISTS propel_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("propel", "0001_initial")]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
