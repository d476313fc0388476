"""The clinic's four consent forms with placeholder texts (intake.consent_defaults), and the link
from a paper signature to its scanned PatientDocument."""

import django.db.models.deletion
from django.db import migrations, models

from intake.consent_defaults import consent_defaults_add


def forms_add(apps, schema_editor):
    consent_defaults_add(
        apps.get_model("intake", "ConsentForm"), apps.get_model("intake", "ConsentFormVersion")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0008_paperwork_consents_documents_referrals"),
    ]

    operations = [
        migrations.AddField(
            model_name="consentsignature",
            name="paper_document",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="intake.patientdocument",
            ),
        ),
        migrations.RunPython(forms_add, migrations.RunPython.noop),
    ]
