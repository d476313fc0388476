from django.db import migrations

from propel.db import PostgresOnlySQL

# Every appointment's span, whatever its status, in a GiST index with its room and clinician: the
# calendar day (any room), the week of one room or one clinician, and the closure pages ask "what
# overlaps this window" (scheduling.models.spans) of all statuses, and the exclusion constraints'
# indexes (0002, 0010) hold only the active ones. With it those queries read the rows of the
# window, not every row that started before its end (docs/benchmarks.md, item 9). A GiST index
# serves any subset of its columns; the span leads because it is what bounds the scan.
SPAN_INDEX = """CREATE INDEX IF NOT EXISTS appointment_span ON scheduling_appointment
    USING gist (tstzrange("start", "end", '[)'), room_id, clinician_id);"""


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0012_notice_per_change_reason_batch")]

    operations = [
        PostgresOnlySQL(SPAN_INDEX, "DROP INDEX IF EXISTS appointment_span;"),
    ]
