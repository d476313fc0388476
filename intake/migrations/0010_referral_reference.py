import secrets

from django.db import migrations, models

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def fill_references(apps, schema_editor):
    Referral = apps.get_model("intake", "Referral")
    for referral in Referral.objects.filter(reference__isnull=True):
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        referral.reference = f"{code[:4]}-{code[4:]}"
        referral.save(update_fields=["reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0009_consent_forms_placeholder"),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="reference",
            field=models.CharField(max_length=9, null=True, verbose_name="reference"),
        ),
        migrations.RunPython(fill_references, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="referral",
            name="reference",
            field=models.CharField(max_length=9, unique=True, verbose_name="reference"),
        ),
        migrations.AddField(
            model_name="referral",
            name="form_key",
            field=models.CharField(blank=True, max_length=43, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="confirmation_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="confirmation_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="confirmation_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="referral",
            name="confirmation_error",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(confirmation_due_at__isnull=False),
                fields=["confirmation_due_at"],
                name="referral_confirmation_due",
            ),
        ),
    ]
