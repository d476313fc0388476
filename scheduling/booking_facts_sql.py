"""scheduling.booking_facts' one read as fixed SQL text, for PostgreSQL.

The ORM builds the same UNION ALL (booking_facts.load_booking_facts, the path SQLite takes) in
about 8 ms of CPU for every booking: some 80 annotated expressions compiled afresh each time
(docs/benchmarks.md, item 4). Here the text is written once, at import, and only its parameters
change: the sessions, ids and neighbourhoods travel as arrays, so the text is the same whatever
the number of sessions. Parts that do not apply find nothing (a NULL patient, an empty array).
tests/scheduling/test_booking_facts_sql.py holds both paths to the same rows.

The appointments' window is the GiST-indexed range overlap of scheduling.models.spans, written
exactly as the indexes write it.
"""

from __future__ import annotations

from typing import Any

# Columns after the part's name, in booking_facts.SHAPE's order: owner, weekday, first, last,
# opens, closes, reason, room, clinician, patient, start, end (NULL where a part has none).
FACTS_SQL = """
SELECT 'weekly', NULL::bigint, h.weekday, NULL::date, NULL::date, h.opens, h.closes,
       NULL::varchar, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz
  FROM scheduling_openinghours h
UNION ALL
SELECT 'closure', NULL::bigint, NULL::int, c.start_date, c.end_date, NULL::time, NULL::time,
       c.reason, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz
  FROM scheduling_closure c
 WHERE c.end_date >= %(first_day)s AND c.start_date <= %(last_day)s
UNION ALL
SELECT 'extra', NULL::bigint, NULL::int, e.date, NULL::date, e.opens, e.closes,
       NULL::varchar, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz
  FROM scheduling_extraopening e
 WHERE e.date BETWEEN %(first_day)s AND %(last_day)s
UNION ALL
SELECT 'work', w.clinician_id, w.weekday, NULL::date, NULL::date, w.starts, w.ends,
       NULL::varchar, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz
  FROM scheduling_workinghours w JOIN scheduling_clinician k ON k.id = w.clinician_id
 WHERE k.active AND w.clinician_id = ANY(%(clinicians)s::bigint[])
UNION ALL
SELECT 'booked', NULL::bigint, NULL::int, NULL::date, NULL::date, NULL::time, NULL::time,
       NULL::varchar, a.room_id, a.clinician_id, a.patient_id, a."start", a."end"
  FROM scheduling_appointment a
 WHERE a.status = ANY(%(active)s::varchar[])
   AND tstzrange(a."start", a."end", '[)') && tstzrange(%(span_start)s, %(span_end)s, '[)')
   AND a.id <> %(exclude)s
   AND EXISTS (
        SELECT 1 FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) s(lo, hi)
        WHERE a."start" < s.hi AND a."end" > s.lo)
   AND (a.room_id = ANY(%(rooms)s::bigint[]) OR a.clinician_id = ANY(%(clinicians)s::bigint[])
        OR a.patient_id = %(patient)s)
UNION ALL
SELECT 'held', NULL::bigint, NULL::int, NULL::date, NULL::date, NULL::time, NULL::time,
       NULL::varchar, h.room_id, h.clinician_id, NULL::bigint, h."start", h."end"
  FROM scheduling_slothold h
 WHERE h.expires_at > %(now)s AND h."end" > %(span_start)s AND h."start" < %(span_end)s
   AND EXISTS (
        SELECT 1 FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) s(lo, hi)
        WHERE h."start" < s.hi AND h."end" > s.lo)
   AND (h.room_id = ANY(%(rooms)s::bigint[]) OR h.clinician_id = ANY(%(clinicians)s::bigint[]))
   AND h.key <> %(hold_key)s
UNION ALL
SELECT 'blocked', NULL::bigint, NULL::int, NULL::date, NULL::date, NULL::time, NULL::time,
       b.reason, b.room_id, b.clinician_id, NULL::bigint, b."start", b."end"
  FROM scheduling_blockedtime b
 WHERE tstzrange(b."start", b."end", '[)') && tstzrange(%(span_start)s, %(span_end)s, '[)')
   AND EXISTS (
        SELECT 1 FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) s(lo, hi)
        WHERE b."start" < s.hi AND b."end" > s.lo)
   AND (b.room_id = ANY(%(rooms)s::bigint[]) OR b.clinician_id = ANY(%(clinicians)s::bigint[]))
UNION ALL
SELECT 'treatment', NULL::bigint, NULL::int, NULL::date, NULL::date, NULL::time, NULL::time,
       NULL::varchar, NULL::bigint, NULL::bigint, NULL::bigint, a."start", NULL::timestamptz
  FROM scheduling_appointment a JOIN scheduling_appointmenttype t ON t.id = a.appointment_type_id
 WHERE a.status = ANY(%(active)s::varchar[]) AND a.patient_id = %(patient)s
   AND t.needs_clearance AND a.id <> %(exclude)s
   AND EXISTS (
        SELECT 1
          FROM unnest(%(gap_lo)s::timestamptz[], %(gap_hi)s::timestamptz[],
                      %(week_lo)s::timestamptz[], %(week_hi)s::timestamptz[]) n(glo, ghi, wlo, whi)
         WHERE (a."start" > n.glo AND a."start" < n.ghi)
            OR (a."start" >= n.wlo AND a."start" < n.whi))
UNION ALL
SELECT 'online', NULL::bigint, NULL::int, NULL::date, NULL::date, NULL::time, NULL::time,
       NULL::varchar, NULL::bigint, NULL::bigint, NULL::bigint, a."start", NULL::timestamptz
  FROM scheduling_appointment a
 WHERE a.status = ANY(%(active)s::varchar[]) AND a.patient_id = %(patient)s
   AND a.appointment_type_id = %(online_type)s AND a.booked_via = %(online)s
   AND a."start" > %(now)s
"""


def facts_rows(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """FACTS_SQL's rows for `params` (booking_facts builds them), its timestamps read by
    psycopg's compiled loader (scheduling.slots._rows says why)."""
    from django.db import connection
    from psycopg.types.datetime import TimestamptzLoader

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(FACTS_SQL, params)
        return cursor.fetchall()
