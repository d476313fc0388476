from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from propel.db import PostgresOnlySQL

# Half-open ranges '[)' so that back-to-back appointments do not collide. Only appointments in
# ACTIVE_STATUSES (scheduling.models) hold their resources.
ACTIVE = "status IN ('booked', 'checked_in', 'completed')"


def exclusion(column: str) -> PostgresOnlySQL:
    name = f"appointment_{column.removesuffix('_id')}_no_overlap"
    return PostgresOnlySQL(
        f"""ALTER TABLE scheduling_appointment ADD CONSTRAINT {name}
            EXCLUDE USING gist ({column} WITH =, tstzrange("start", "end", '[)') WITH &&)
            WHERE ({ACTIVE});""",
        f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {name};",
    )


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        exclusion("room_id"),
        exclusion("clinician_id"),
        exclusion("patient_id"),
    ]
