"""Reports (issue 20, item 6): the clinic's numbers over a date range, each a table, a small bar
chart and a CSV download. Operational reports (utilisation, attendance, lead times, deferral
counts, reminder delivery) are for every staff role; clinical ones (course completion and dropout
reasons, deferral reasons, outcomes at course end) for clinicians and admin only, and reading them
is audited. Every report aggregates in the database: a constant number of queries whatever the
range."""
