"""Reminders and notices to patients: which reminders an appointment gets and when (plan), the
outbox sweep that sends them exactly once (dispatch), their wording (messages), the staff list
with its resend action (views) and inbound STOP replies (sms_webhook)."""
