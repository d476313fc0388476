"""Hostile-input property tests (Hypothesis): every public form and JSON endpoint answers below
500 for any input, reflects text escaped, and never takes status, clinician, room, patient or
clearance from a request. The shared strategies and checks live here."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Hypothesis with pytest-django: the database fixture is per test, not per example, so each
# example sees the rows the earlier ones left (the tests clean up what they must).
HOSTILE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SCRIPT = "<script>alert(1)</script>"
PAYLOADS = (
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "'; DROP TABLE intake_patient; --",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "%(phone)s %s %d",
    "\x00",
    "a\x00b",
    "\u202e\u200b\ufeff",
    "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45",  # fullwidth "example"
    "😀" * 50,
    "../../../../etc/passwd",
    "javascript:alert(1)",
    "-1",
    "0",
    "1e309",
    "NaN",
    "99999999999999999999999999",
    "2027-02-30",
    "02/30/2027",
    "13/13/13",
    "0000-00-00",
    "9999-12-31T23:59:59+99:00",
    "2027-01-05T15:00:00-08:00",
    "2027-01-05T15:00:00",
    "1980-03-27",
    "",
    " ",
    "on",
    "yes",
    "true",
)

text_value = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=300),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(min_size=2000, max_size=5000),
)

# A form value: usually one string, sometimes several (a repeated field).
form_value = st.one_of(text_value, st.lists(text_value, min_size=1, max_size=3))

# Fields a request must never be able to set.
MASS_ASSIGNMENT_KEYS = (
    "status",
    "booked_via",
    "clinician",
    "clinician_id",
    "room",
    "room_id",
    "patient",
    "patient_id",
    "clearance",
    "is_staff",
    "is_superuser",
    "appointment_type",
    "submitted_at",
    "round",
    "kind",
)


def hostile_data(field_names: tuple[str, ...] | list[str], extra: dict | None = None):
    """Dicts over the form's own field names plus the mass-assignment keys, hostile values."""
    keys = st.sampled_from(tuple(field_names) + MASS_ASSIGNMENT_KEYS)
    base = st.dictionaries(keys, form_value, max_size=len(field_names) + 4)
    if extra:
        return base.map(lambda d: {**d, **extra})
    return base


def posted_strings(data: dict) -> list[str]:
    values: list[str] = []
    for value in data.values():
        values.extend(value if isinstance(value, list) else [value])
    return [v for v in values if isinstance(v, str)]


def assert_escaped(response, data: dict) -> None:
    """No posted string with markup in it comes back verbatim (unescaped) in an HTML body."""
    if "html" not in response.get("Content-Type", ""):
        return
    body = response.content.decode(errors="replace")
    assert SCRIPT not in body
    for value in posted_strings(data):
        if ("<" in value or '"' in value) and len(value.strip()) >= 12:
            assert value not in body, f"unescaped reflection of {value!r}"


def assert_no_500(response) -> None:
    assert response.status_code < 500, response.content[:500]
