"""The screening's validated mood instruments (PHQ-9, GAD-7, PCL-5), rendered verbatim from
instruments.json (intake.instruments).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from intake.questions.base import (
    YES,
    InstrumentBlock,
    Section,
    yes_no,
)

MOOD_SECTIONS: tuple[Section, ...] = (
    Section("phq9", _("How you have been feeling"), "", (InstrumentBlock("phq9"),)),
    Section("gad7", _("Worry and anxiety"), "", (InstrumentBlock("gad7"),)),
    Section(
        "pcl5",
        _("Stressful experiences"),
        _("These questions help the care team understand PTSD symptoms."),
        (
            yes_no(
                "stressful_experience",
                _("Have you been through a very stressful experience that still troubles you?"),
            ),
            InstrumentBlock("pcl5", show_if=("stressful_experience", (YES,))),
        ),
    ),
)
