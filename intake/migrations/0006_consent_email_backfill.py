"""Email reminders on for existing patients who never said no (issue 17): before, the booking
form's reminder box started unticked, so most patients got no reminders at all. Each patient
turned on gets the time and a "backfill" consent event (intake.consent.consent_backfill). Their
upcoming appointments' reminders are planned by `manage.py reminders_replan` after the migration
(docs/deployment.md): a migration cannot call scheduling's planner."""

from django.db import migrations
from django.utils import timezone

from intake.consent import consent_backfill


def backfill(apps, schema_editor):
    consent_backfill(
        patient_model=apps.get_model("intake", "Patient"),
        event_model=apps.get_model("intake", "ConsentEvent"),
        now=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("intake", "0005_consent_events")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
