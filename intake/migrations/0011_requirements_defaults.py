"""The clinic's default requirements (intake.requirement_defaults)."""

from django.db import migrations

from intake.requirement_defaults import requirement_defaults_add


def seed_defaults(apps, schema_editor):
    requirement_defaults_add(apps.get_model("intake", "ConsentForm"), apps.get_model("intake", "Requirement"))


class Migration(migrations.Migration):
    dependencies = [("intake", "0010_referral_reference")]

    operations = [migrations.RunPython(seed_defaults, migrations.RunPython.noop)]
