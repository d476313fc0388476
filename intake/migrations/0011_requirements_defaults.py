"""The clinic's default requirements (issue 21): before the consultation, every consent form
signed (not waivable); before the first infusion, a referral letter and a photo ID (a clinician
may waive them). The forms are found or created by kind; their versions (the texts) come from the
consent forms' own migration. Admin changes all of this afterwards (Requirement in the admin)."""

from django.db import migrations

FORMS = [
    ("electronic", "Consent to electronic records and signatures", 1),
    ("treatment", "Informed consent for treatment", 2),
    ("financial", "Financial policy", 3),
    ("privacy", "Acknowledgement of the notice of privacy practices", 4),
]
DOCUMENTS = ["referral", "photo_id"]


def seed_defaults(apps, schema_editor):
    ConsentForm = apps.get_model("intake", "ConsentForm")
    Requirement = apps.get_model("intake", "Requirement")
    for kind, title, order in FORMS:
        form, _created = ConsentForm.objects.get_or_create(
            kind=kind, defaults={"title": title, "order": order}
        )
        Requirement.objects.get_or_create(
            step="consultation", consent_form=form, document_kind="", defaults={"waivable": False}
        )
    for kind in DOCUMENTS:
        Requirement.objects.get_or_create(
            step="first_infusion", consent_form=None, document_kind=kind,
            defaults={"waivable": True},
        )


class Migration(migrations.Migration):
    dependencies = [("intake", "0010_referral_reference")]

    operations = [migrations.RunPython(seed_defaults, migrations.RunPython.noop)]
