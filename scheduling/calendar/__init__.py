"""The staff calendar: the day and week grid (grid, pure), the calendar pages (views), the
appointment pages and actions (appointment_views, forms) and a clinician's subscribable calendar
feed (feeds); the .ics files themselves are core (scheduling.ics, scheduling.ics_download)."""
