"""A counter that every committed change to what availability is computed from moves on, so the
public slot picker can cache a computed week by it (scheduling.slot_page, scheduling.slots).

Triggers rather than calls in the services: every write path (the booking services, the admin,
management commands, raw SQL) is covered, and none can forget. The row-level triggers are
deferred constraint triggers, so the counter moves at commit, in the same transaction as the
change: a reader sees the new counter exactly when it sees the change, never before. They run
after the foreign-key checks of the same row ("RI_..." sorts before "availability_..."), and the
counter row is the last lock a transaction takes, just before it commits; it is bumped once per
transaction.
"""

from django.db import migrations

from propel.db import PostgresOnlySQL

TABLES = (
    "scheduling_appointment",
    "scheduling_slothold",
    "scheduling_appointmenttype",
    "scheduling_openinghours",
    "scheduling_closure",
    "scheduling_extraopening",
    "scheduling_room",
    "scheduling_clinician",
    "scheduling_workinghours",
)

FORWARD = """
CREATE TABLE scheduling_availability_version (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version bigint NOT NULL,
    bumped_by bigint
);
INSERT INTO scheduling_availability_version (id, version) VALUES (1, 1);

CREATE FUNCTION scheduling_availability_changed() RETURNS trigger AS $$
BEGIN
    UPDATE scheduling_availability_version
       SET version = version + 1, bumped_by = txid_current()
     WHERE bumped_by IS DISTINCT FROM txid_current();
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE CONSTRAINT TRIGGER availability_changed
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION scheduling_availability_changed();
CREATE TRIGGER availability_truncated
    AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION scheduling_availability_changed();
"""
    for table in TABLES
)

BACKWARD = (
    "".join(
        f"""
DROP TRIGGER IF EXISTS availability_changed ON {table};
DROP TRIGGER IF EXISTS availability_truncated ON {table};
"""
        for table in TABLES
    )
    + """
DROP FUNCTION IF EXISTS scheduling_availability_changed();
DROP TABLE IF EXISTS scheduling_availability_version;
"""
)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0008_reminder_notices")]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
