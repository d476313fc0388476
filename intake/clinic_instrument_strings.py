"""The wording of the clinic's own instruments in intake/data/instruments.json (validated false:
today the ketamine use history), listed here only so that makemessages finds it: these are the
clinic's questions, not a validated instrument, so translators translate them like any string and
intake.instruments.shown() shows them through gettext. Validated instruments are never listed here:
they are shown in Spanish only in their published version (intake/data/instruments_es.json).
tests/intake/test_instruments_spanish.py fails when this list and the data file disagree."""

from __future__ import annotations

from django.utils.translation import gettext_noop

CLINIC_INSTRUMENT_STRINGS = (
    gettext_noop("These questions ask about ketamine (sometimes called 'K' or 'Special K')."),
    gettext_noop(
        "Have you ever used ketamine other than when it was given to you by a medical professional?"
    ),
    gettext_noop("When did you last use ketamine that way?"),
    gettext_noop("In the past 30 days"),
    gettext_noop("1 to 12 months ago"),
    gettext_noop("More than 12 months ago"),
    gettext_noop(
        "Have you ever had treatment or counselling for problems related to ketamine use?"
    ),
    gettext_noop(
        "Have you ever had bladder pain, painful or very frequent urination, or blood in your "
        "urine that a doctor linked to ketamine?"
    ),
    gettext_noop(
        "Have you had ketamine or esketamine (Spravato) treatment before at a clinic or hospital?"
    ),
    gettext_noop("No"),
    gettext_noop("Yes"),
)
