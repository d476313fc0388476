from django.db import migrations

from propel.db import PostgresOnlySQL

# Every appointment's span, whatever its status, in a GiST index with its room and clinician: the
# calendar day (any room), the week of one room or one clinician, and the closure pages ask "what
# overlaps this window" (scheduling.models.spans) of all statuses, and the exclusion constraints'
# indexes hold only the active ones. With it those queries read the rows of the window, not every
# row that started before its end (docs/benchmarks.md, item 9).
SPAN_INDEX = """CREATE INDEX IF NOT EXISTS appointment_span ON scheduling_appointment
    USING gist (tstzrange("start", "end", '[)'), room_id, clinician_id);"""

# The exclusion constraints of 0010, the same rule with the span as the first column. A GiST
# index serves any subset of its columns, but the first decides how much of it a scan visits: led
# by patient_id, a search by span alone (find_slots' busy query: the window, then any of several
# rooms or clinicians) visited pages across the patients' whole history (732 index pages at a
# million appointments against 87 at ten thousand, item 9); led by the span, only the window's.
ACTIVE = "status IN ('booked', 'checked_in', 'in_progress', 'completed')"


def span_first(column: str) -> PostgresOnlySQL:
    name = f"appointment_{column.removesuffix('_id')}_no_overlap"

    def create(columns: str) -> str:
        return f"""ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {name};
            ALTER TABLE scheduling_appointment ADD CONSTRAINT {name}
            EXCLUDE USING gist ({columns}) WHERE ({ACTIVE});"""

    span = """tstzrange("start", "end", '[)') WITH &&"""
    return PostgresOnlySQL(create(f"{span}, {column} WITH ="), create(f"{column} WITH =, {span}"))


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0012_notice_per_change_reason_batch")]

    operations = [
        PostgresOnlySQL(SPAN_INDEX, "DROP INDEX IF EXISTS appointment_span;"),
        span_first("room_id"),
        span_first("clinician_id"),
        span_first("patient_id"),
    ]
