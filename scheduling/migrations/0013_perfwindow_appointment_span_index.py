from django.db import migrations

from propel.db import PostgresOnlySQL

# Every appointment's span, whatever its status, in a GiST index: the calendar, the closure pages
# and the feeds ask "what overlaps this window" (scheduling.models.spans) of all statuses, and the
# exclusion constraints' indexes (0002, 0010) hold only the active ones. With it those queries read
# the rows of the window, not every row that started before its end (docs/benchmarks.md, item 9).
SPAN_INDEX = """CREATE INDEX IF NOT EXISTS appointment_span
    ON scheduling_appointment USING gist (tstzrange("start", "end", '[)'));"""


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0012_notice_per_change_reason_batch")]

    operations = [
        PostgresOnlySQL(SPAN_INDEX, "DROP INDEX IF EXISTS appointment_span;"),
    ]
