"""The staff calendar: the day and week grid (grid, pure), the calendar pages and appointment
actions (views, forms), a clinician's subscribable calendar feed (feeds) and the .ics files
(ics)."""
