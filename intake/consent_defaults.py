"""The clinic's four consent forms with a version 1 whose text is an obvious placeholder for the
clinic's lawyer to replace (in the admin: a new version, never an edit). Added by intake migration
0009 and by tests that need the forms after a transactional test emptied the tables.
Idempotent: a form or version already there is left as it is."""

from __future__ import annotations

import datetime as dt
from typing import Any

EFFECTIVE = dt.date(2026, 1, 1)

NOTE = "[PLACEHOLDER for the clinic's lawyer: replace this whole text before real use.]"

FORMS = [
    (
        "electronic",
        "Consent to electronic records and signatures",
        1,
        f"""{NOTE}

1. What you agree to
[PLACEHOLDER: You agree that Propel Clinic may give you forms, notices and records
electronically, and that you may sign them electronically. An electronic signature is as binding
as a signature on paper.]

2. What you need
[PLACEHOLDER: A phone, tablet or computer with a current web browser, an email address, and a
way to open PDF files (most phones can). Tell us if this changes.]

3. Paper copies
[PLACEHOLDER: You may ask for a paper copy of any form you signed, free of charge, on your forms
page or by calling the clinic.]

4. Signing on paper instead
[PLACEHOLDER: You do not have to sign electronically. You may ask for paper forms and sign them
at the clinic instead.]

5. Withdrawing this consent
[PLACEHOLDER: You may withdraw this consent at any time by telling the front desk. Withdrawing
does not change forms you already signed; later forms are then signed on paper.]""",
    ),
    (
        "treatment",
        "Informed consent for treatment",
        2,
        f"""{NOTE}

1. What the treatment is
[PLACEHOLDER: A description of the treatment offered, how it is given, how long a visit lasts,
and how many visits a course usually has.]

2. Possible benefits
[PLACEHOLDER: What the treatment may help with, and that no result is guaranteed.]

3. Risks and side effects
[PLACEHOLDER: Side effects can include dizziness, a temporary rise in blood pressure, vivid
dreams and nausea. A full list, how the clinic watches for them, and what to do if one happens
after you leave.]

4. Before and after each visit
[PLACEHOLDER: Do not eat before a visit as instructed; a responsible adult must drive you home;
do not drive or make important decisions until the next day.]

5. Alternatives
[PLACEHOLDER: Other treatments you may choose instead, including no treatment, and that your
other clinicians can discuss them with you.]

6. Your right to stop
[PLACEHOLDER: You may stop treatment or withdraw this consent at any time, without giving a
reason, and it will not affect the rest of your care.]

7. Questions
[PLACEHOLDER: You had the chance to ask questions and have them answered before signing.]""",
    ),
    (
        "financial",
        "Financial policy",
        3,
        f"""{NOTE}

1. Fees
[PLACEHOLDER: The fees for a consultation and for each visit, and when they are due.]

2. Insurance
[PLACEHOLDER: Whether the clinic bills insurance, and how to get a receipt (superbill) to claim
from your insurer yourself.]

3. Cancellations and missed visits
[PLACEHOLDER: How much notice to give, and any fee for a late cancellation or a missed visit.]

4. Questions about a bill
[PLACEHOLDER: Who to call about a bill, and how payment plans work.]""",
    ),
    (
        "privacy",
        "Acknowledgement of the notice of privacy practices",
        4,
        f"""{NOTE}

1. The notice
[PLACEHOLDER: You were offered the clinic's notice of privacy practices, which explains how your
health information may be used and shared and your rights about it.]

2. Your rights
[PLACEHOLDER: To see and get a copy of your records, to ask for corrections, to ask how your
information was shared, and to file a complaint.]

3. Getting a copy
[PLACEHOLDER: A paper copy of the notice is available at the front desk or by calling the
clinic.]""",
    ),
]


def unwrapped(raw: str) -> str:
    """The text as stored: blocks apart by a blank line, each block's heading (if any) on its own
    line and its body as one line (the source above is wrapped for reading; a phone re-wraps)."""
    blocks = []
    for block in raw.strip().split("\n\n"):
        lines = block.split("\n")
        if len(lines) > 1 and not lines[0].startswith("["):
            blocks.append(lines[0] + "\n" + " ".join(lines[1:]))
        else:
            blocks.append(" ".join(lines))
    return "\n\n".join(blocks)


def consent_defaults_add(consent_form_model: Any, version_model: Any) -> None:
    """get_or_create each form and its version 1 (models passed in: the migration's historical
    ones, or the real ones)."""
    for kind, title, order, text in FORMS:
        form, _ = consent_form_model.objects.get_or_create(
            kind=kind, defaults={"title": title, "order": order}
        )
        version_model.objects.get_or_create(
            form=form,
            number=1,
            defaults={
                "text": unwrapped(text),
                "effective_date": EFFECTIVE,
                "resign_required": True,
            },
        )
