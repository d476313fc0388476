"""Reminders and notices to patients: the outbox sweep that sends them exactly once (dispatch),
their wording (messages), the catalogue of every kind for docs/messages.md (catalogue), the staff
list with its resend action (views) and inbound STOP replies (sms_webhook). Which reminders an
appointment gets and when is core (scheduling.reminder_plan), and so is putting one back in the
outbox (scheduling.reminder_requeue)."""
