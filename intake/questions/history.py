"""The screening's first steps: about you, cancer history, pain and current medications."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from intake.questions.base import (
    YES,
    InstrumentBlock,
    Question,
    Section,
    when,
    yes_no,
    yes_no_unsure,
)

IF_CANCER = ("has_cancer", (YES,))

HISTORY_SECTIONS: tuple[Section, ...] = (
    Section(
        "about",
        _("About you"),
        _("A few details the care team needs. Weight is used to plan your treatment."),
        (
            Question(
                "sex",
                _("Sex assigned at birth"),
                "choice",
                options=(
                    ("female", _("Female")),
                    ("male", _("Male")),
                    ("other", _("Another answer or prefer not to say")),
                ),
                help_text=_("Some health questions depend on it."),
            ),
            Question("height_ft", _("Height: feet"), "int", minimum=3, maximum=8),
            Question("height_in", _("Height: inches"), "int", minimum=0, maximum=11),
            Question("weight_lb", _("Weight in pounds"), "int", minimum=60, maximum=700),
            Question("emergency_name", _("Emergency contact: name"), "text", max_length=120),
            Question("emergency_phone", _("Emergency contact: phone"), "phone"),
            Question(
                "emergency_relationship",
                _("Emergency contact: relationship to you"),
                "text",
                max_length=60,
            ),
            Question(
                "escort_name",
                _("Who will drive you home after treatment? Name"),
                "text",
                max_length=120,
                help_text=_(
                    "An adult must take you home after each treatment. You can change this later."
                ),
                required=False,
            ),
            Question("escort_phone", _("Driver's phone"), "phone", required=False),
        ),
    ),
    Section(
        "cancer",
        _("Cancer history"),
        _("If you have or have had cancer, tell us about it. If not, answer No and continue."),
        (
            yes_no("has_cancer", _("Have you been diagnosed with cancer?")),
            Question(
                "cancer_type", _("What type of cancer?"), "text", max_length=200, show_if=IF_CANCER
            ),
            Question(
                "cancer_stage",
                _("Stage, if you know it"),
                "choice",
                options=(
                    ("0", "0"),
                    ("1", "I"),
                    ("2", "II"),
                    ("3", "III"),
                    ("4", "IV"),
                    ("unknown", _("I don't know")),
                ),
                show_if=IF_CANCER,
            ),
            when("cancer_diagnosed_on", _("When was it diagnosed?"), show_if=IF_CANCER),
            Question(
                "cancer_treatment",
                _("Current treatment (choose all that apply)"),
                "multi",
                options=(
                    ("chemotherapy", _("Chemotherapy")),
                    ("immunotherapy", _("Immunotherapy")),
                    ("targeted", _("Targeted therapy")),
                    ("hormonal", _("Hormone therapy")),
                    ("radiation", _("Radiation")),
                    ("surgery", _("Surgery planned or recent")),
                    ("none", _("No current treatment")),
                ),
                show_if=IF_CANCER,
            ),
            Question(
                "next_treatment_on",
                _("Date of your next treatment, if planned"),
                "date",
                required=False,
                future_ok=True,
                show_if=IF_CANCER,
                help_text=_("We try not to schedule you on a chemotherapy day."),
            ),
            yes_no_unsure(
                "metastases",
                _("Has the cancer spread to other parts of the body?"),
                show_if=IF_CANCER,
            ),
            Question(
                "metastasis_sites",
                _("Where has it spread? (choose all that apply)"),
                "multi",
                options=(
                    ("brain", _("Brain")),
                    ("liver", _("Liver")),
                    ("bone", _("Bone")),
                    ("lung", _("Lung")),
                    ("other", _("Somewhere else")),
                ),
                show_if=("metastases", (YES,)),
                rule="A14/A15, A18",
            ),
            Question(
                "oncologist_name",
                _("Your oncologist's name"),
                "text",
                max_length=120,
                show_if=IF_CANCER,
                required=False,
            ),
            Question(
                "oncologist_phone",
                _("Your oncologist's phone"),
                "phone",
                show_if=IF_CANCER,
                required=False,
            ),
        ),
    ),
    Section(
        "pain",
        _("Pain"),
        _("If you have no pain, choose 0."),
        (
            InstrumentBlock("nrs11_pain"),
            InstrumentBlock("peg3"),
            Question(
                "pain_where", _("Where is your pain?"), "text", max_length=300, required=False
            ),
            Question(
                "pain_kind",
                _("What is it like? (choose any)"),
                "multi",
                required=False,
                options=(
                    ("nerve", _("Burning, shooting or tingling (nerve pain)")),
                    ("bone", _("Deep, aching (bone pain)")),
                    ("visceral", _("Cramping or pressure inside the body")),
                    ("other", _("Something else")),
                    ("unsure", _("Not sure")),
                ),
            ),
            Question(
                "pain_duration",
                _("How long have you had this pain?"),
                "choice",
                required=False,
                options=(
                    ("lt3m", _("Less than 3 months")),
                    ("3to12m", _("3 to 12 months")),
                    ("gt12m", _("More than a year")),
                ),
            ),
        ),
    ),
    Section(
        "medications",
        _("Current medicines"),
        _(
            "List every medicine you take, including patches, sleep aids and over-the-counter medicines."
        ),
        (
            yes_no("takes_medications", _("Do you take any medicines?")),
            Question(
                "medications",
                _("Your medicines"),
                "medications",
                show_if=("takes_medications", (YES,)),
                help_text=_(
                    "Name, dose and how many times a day. For a patch, give the mcg per hour."
                ),
            ),
            Question(
                "drug_allergies",
                _("Allergies to any medicines"),
                "text",
                max_length=500,
                required=False,
            ),
        ),
    ),
)
