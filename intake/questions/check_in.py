"""The short pre-infusion check-in questionnaire."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from intake.questions.base import (
    YES,
    YES_NO,
    InstrumentBlock,
    Question,
    Section,
    yes_no,
)

# The short questionnaire before each infusion (measurement-based care): the same validated
# instruments as the screening, verbatim, so the scores compare, and what changed since the last
# visit. PHQ-9 item 9 follows the same crisis path (reference §5.3: "at intake, pre-infusion and
# follow-up").
IF_NEW_MEDICINES = ("new_medicines", (YES,))
IF_OTHER_CHANGES = ("other_changes", (YES,))

CHECK_IN_SECTIONS: tuple[Section, ...] = (
    Section("phq9", _("How you have been feeling"), "", (InstrumentBlock("phq9"),)),
    Section("gad7", _("Worry and anxiety"), "", (InstrumentBlock("gad7"),)),
    Section(
        "pain", _("Pain"), _("If you have no pain, choose 0."), (InstrumentBlock("nrs11_pain"),)
    ),
    Section(
        "changes",
        _("Since your last visit"),
        _("Tell us what has changed, so the care team can plan your treatment safely."),
        (
            yes_no(
                "new_medicines",
                _(
                    "Since your last visit, have you started, stopped or changed the dose of any "
                    "medicine, including over-the-counter medicines and supplements?"
                ),
                rule="§7.2",
            ),
            Question(
                "new_medicines_detail",
                _("Which medicines, and what changed?"),
                "text",
                max_length=500,
                show_if=IF_NEW_MEDICINES,
                help_text=_("For example: started sertraline 50 mg once a day."),
            ),
            Question(
                "alcohol_or_drugs_recent",
                ngettext_lazy(
                    "Have you had any alcohol or recreational drugs in the last %(hours)d hour?",
                    "Have you had any alcohol or recreational drugs in the last %(hours)d hours?",
                    "hours",
                ),
                "yes_no",
                options=YES_NO,
                rule="A13",
                text_params=(("hours", "CHECK_IN_ABSTINENCE_HOURS"),),
            ),
            yes_no(
                "other_changes",
                _(
                    "Has anything else about your health changed since your last visit, for "
                    "example a new illness or diagnosis, a hospital stay, or a possible pregnancy?"
                ),
            ),
            Question(
                "other_changes_detail",
                _("What has changed?"),
                "text",
                max_length=500,
                required=False,
                show_if=IF_OTHER_CHANGES,
            ),
        ),
    ),
)
