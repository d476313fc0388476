"""The questionnaires as data: the screening (SECTIONS) and the short pre-infusion check-in
(CHECK_IN_SECTIONS), their steps, in order, and every question's key, wording, kind and limits.

Validated instruments are referenced by id and rendered verbatim from instruments.json
(intake.instruments). The other questions are clinic-authored plain-language screening questions;
where the reference (shared/clinical/screening-reference.md) gives a patient-facing question, its
wording is used (the rule id is noted beside it). Answers are stored flat, keyed by `Question.key`
or the instrument item id, exactly as given:

- yes_no / yes_no_unsure / choice: the option value (a string)
- multi: a list of option values
- int: an int; decimal: a string such as "12.5"; date: ISO "YYYY-MM-DD"; text / phone: a string
- instrument items: the option value (an int)
- checkbox: True
- medications: a list of {"name", "dose", "unit", "times_per_day"} (see MEDICATION_UNITS)

A question whose wording depends on a setting (the check-in's alcohol window) carries the setting's
name in `text_params`; intake.answers.question_text fills it in when the question is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

# The questionnaire kinds: the values of intake.models.SubmissionKind (that module needs Django's
# app registry, which this data module does without; tests check the two agree).
SCREENING, CHECK_IN = "screening", "check_in"

YES, NO, UNSURE, NOT_APPLICABLE = "yes", "no", "unsure", "not_applicable"
YES_NO = ((YES, _("Yes")), (NO, _("No")))
YES_NO_UNSURE = (*YES_NO, (UNSURE, _("Not sure")))
YES_NO_NA = (*YES_NO, (NOT_APPLICABLE, _("Does not apply to me")))

MEDICATION_UNITS = (
    ("mg", _("mg")),
    ("mcg_per_hour", _("mcg per hour (skin patch)")),
    ("other", _("Other or not sure")),
)
MAX_MEDICATIONS = 30


@dataclass(frozen=True)
class Question:
    key: str
    text: Any  # a lazy translation
    kind: str  # yes_no, yes_no_unsure, yes_no_na, choice, multi, int, decimal, date, text,
    #            phone, checkbox, medications
    required: bool = True
    options: tuple[tuple[str, Any], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    help_text: Any = ""
    # Shown (and required) only when answers[show_if[0]] is one of show_if[1].
    show_if: tuple[str, tuple[Any, ...]] | None = None
    # Dates: whether a date after today is acceptable (e.g. a next chemotherapy cycle).
    future_ok: bool = False
    rule: str = ""  # the reference rule this question feeds, for readers of this file
    # Placeholders in `text` filled from Django settings when shown: (placeholder, setting name).
    # `text` may then be an ngettext_lazy whose number is the placeholder.
    text_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InstrumentBlock:
    """All items of one validated instrument, shown verbatim in one step."""

    instrument_id: str
    show_if: tuple[str, tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    intro: Any = ""
    parts: tuple[Question | InstrumentBlock, ...] = field(default_factory=tuple)


def yes_no(key: str, text: Any, *, rule: str = "", show_if=None, required: bool = True) -> Question:
    return Question(
        key, text, "yes_no", options=YES_NO, rule=rule, show_if=show_if, required=required
    )


def yes_no_unsure(key: str, text: Any, *, rule: str = "", show_if=None) -> Question:
    return Question(key, text, "yes_no_unsure", options=YES_NO_UNSURE, rule=rule, show_if=show_if)


def when(key: str, text: Any, *, show_if) -> Question:
    return Question(key, text, "date", show_if=show_if, help_text=_("An approximate date is fine."))


IF_CANCER = ("has_cancer", (YES,))

SECTIONS: tuple[Section, ...] = (
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
    Section(
        "blood_pressure",
        _("Blood pressure"),
        "",
        (
            yes_no_unsure("bp_diagnosed", _("Do you have high blood pressure?")),
            yes_no(
                "bp_treated", _("Do you take medicine for it?"), show_if=("bp_diagnosed", (YES,))
            ),
            yes_no_unsure(
                "bp_controlled",
                _("Is it currently controlled on treatment?"),
                show_if=("bp_diagnosed", (YES,)),
                rule="§3 known uncontrolled hypertension",
            ),
            Question(
                "bp_latest_systolic",
                _("Your most recent reading: top number (systolic)"),
                "int",
                minimum=60,
                maximum=260,
                required=False,
                help_text=_("Leave blank if you don't know."),
            ),
            Question(
                "bp_latest_diastolic",
                _("Your most recent reading: bottom number (diastolic)"),
                "int",
                minimum=30,
                maximum=160,
                required=False,
            ),
            Question("bp_latest_on", _("When was it taken?"), "date", required=False),
        ),
    ),
    Section(
        "heart",
        _("Heart and blood vessels"),
        "",
        (
            yes_no("mi_ever", _("Have you had a heart attack?"), rule="§3 MI"),
            when("mi_on", _("When?"), show_if=("mi_ever", (YES,))),
            yes_no(
                "angina_recent",
                _(
                    "In the past month, have you had chest pain or pressure that is new, getting worse, or happens at rest?"
                ),
                rule="§3 unstable angina",
            ),
            yes_no(
                "stent_or_bypass",
                _("Have you had a heart stent or bypass surgery?"),
                rule="§3 stent/bypass",
            ),
            when("stent_or_bypass_on", _("When?"), show_if=("stent_or_bypass", (YES,))),
            yes_no("heart_failure", _("Do you have heart failure?"), rule="§3 heart failure"),
            yes_no(
                "hf_symptoms",
                _(
                    "Are you short of breath at rest or when walking across a room, or have you had new swelling?"
                ),
                show_if=("heart_failure", (YES,)),
            ),
            yes_no(
                "hf_hospital_3m",
                _("Have you stayed in hospital for heart failure in the last 3 months?"),
                show_if=("heart_failure", (YES,)),
            ),
            yes_no(
                "arrhythmia",
                _("Do you have an irregular heartbeat, atrial fibrillation, or long QT?"),
                rule="§3 arrhythmia",
            ),
            yes_no(
                "arrhythmia_symptoms",
                _("Any fainting or racing heart recently?"),
                show_if=("arrhythmia", (YES,)),
            ),
            yes_no_unsure(
                "arrhythmia_controlled",
                _("Is it controlled with treatment?"),
                show_if=("arrhythmia", (YES,)),
            ),
            yes_no(
                "valve_severe",
                _("Have you been told you have a severe heart-valve problem?"),
                rule="§3 valve",
            ),
            yes_no(
                "aneurysm_avm",
                _(
                    "Has a doctor ever told you that you have an aneurysm (a bulging blood vessel) in your brain, chest, abdomen or elsewhere, or an AVM?"
                ),
                rule="A4",
            ),
            yes_no(
                "brain_bleed",
                _("Have you ever had bleeding in or around your brain (haemorrhagic stroke)?"),
                rule="A5",
            ),
            yes_no(
                "stroke_tia", _("Have you had a stroke or mini-stroke (TIA)?"), rule="§3 stroke/TIA"
            ),
            when("stroke_on", _("When?"), show_if=("stroke_tia", (YES,))),
            yes_no(
                "hypertensive_emergency",
                _(
                    "Have you ever been hospitalised for a blood-pressure emergency affecting the brain?"
                ),
                rule="§3 hypertensive encephalopathy",
            ),
        ),
    ),
    Section(
        "mental_health",
        _("Mental health history"),
        "",
        (
            yes_no(
                "psychosis_recent",
                _(
                    "In the past month, have you heard or seen things other people could not, or felt that people were plotting against you?"
                ),
                rule="A8",
            ),
            yes_no(
                "mania_recent",
                _(
                    "In the past 2 weeks, have you had a period of feeling unusually 'high', hyper, or needing much less sleep than usual?"
                ),
                rule="A8",
            ),
            yes_no(
                "psychosis_history",
                _(
                    "Have you ever been diagnosed with schizophrenia, schizoaffective disorder, or any psychotic disorder, or been hospitalised for psychosis?"
                ),
                rule="A9",
            ),
            yes_no("bipolar", _("Have you ever been diagnosed with bipolar disorder?"), rule="A10"),
            Question(
                "mental_diagnoses",
                _("Have you been diagnosed with any of these? (choose any)"),
                "multi",
                required=False,
                options=(
                    ("depression", _("Depression")),
                    ("anxiety", _("Anxiety")),
                    ("ptsd", _("PTSD")),
                    ("ocd", _("OCD")),
                    ("other", _("Something else")),
                ),
            ),
            Question(
                "antidepressant_trials",
                _("How many antidepressant medicines have you tried?"),
                "int",
                minimum=0,
                maximum=40,
                required=False,
            ),
            yes_no("prior_ect_tms", _("Have you had ECT or TMS treatment?")),
        ),
    ),
    Section(
        "substances",
        _("Alcohol, tobacco and other substances"),
        _("Your answers are confidential and help keep your treatment safe."),
        (InstrumentBlock("taps1"), InstrumentBlock("ketamine_use_history")),
    ),
    Section(
        "pregnancy",
        _("Pregnancy and breastfeeding"),
        "",
        (
            Question(
                "pregnancy",
                _(
                    "Are you pregnant, could you be pregnant, or are you planning a pregnancy in the next 3 months?"
                ),
                "yes_no_na",
                options=YES_NO_NA,
                rule="A2",
            ),
            Question(
                "breastfeeding",
                _("Are you currently breastfeeding?"),
                "yes_no_na",
                options=YES_NO_NA,
                rule="A3",
            ),
        ),
    ),
    Section(
        "other_conditions",
        _("Other health conditions"),
        "",
        (
            yes_no(
                "ketamine_allergy",
                _("Have you ever had an allergic reaction to ketamine or esketamine (Spravato)?"),
                rule="A1",
            ),
            yes_no(
                "brain_condition",
                _(
                    "Do you have a brain tumour or brain metastases, hydrocephalus or a shunt, or have you been told there is raised pressure in your brain?"
                ),
                rule="A14/A15",
            ),
            Question(
                "brain_condition_kind",
                _("Which of these? (choose all that apply)"),
                "multi",
                options=(
                    ("tumour", _("Brain tumour or brain metastases")),
                    ("hydrocephalus_shunt", _("Hydrocephalus or a shunt")),
                    ("raised_pressure", _("Told there is raised pressure in my brain")),
                ),
                show_if=("brain_condition", (YES,)),
            ),
            yes_no(
                "eye_pressure",
                _(
                    "Do you have glaucoma or high pressure in your eyes, or have you had eye surgery or an eye injury in the last 3 months?"
                ),
                rule="A16",
            ),
            yes_no_unsure(
                "eye_acute",
                _(
                    "Is it a sudden (acute) angle-closure glaucoma attack, or an injury that went through the eye?"
                ),
                show_if=("eye_pressure", (YES,)),
                rule="A16",
            ),
            yes_no(
                "liver_severe",
                _(
                    "Do you have cirrhosis or liver failure, or has a doctor said your liver is severely damaged?"
                ),
                rule="A17",
            ),
            yes_no(
                "liver_disease",
                _(
                    "Do you have liver disease, cancer that has spread to the liver, or abnormal liver blood tests?"
                ),
                rule="A18",
            ),
            yes_no(
                "bladder",
                _(
                    "Do you have bladder pain, frequent or painful urination, or blood in the urine, or have you been told you have interstitial cystitis?"
                ),
                rule="A19",
            ),
            yes_no("seizures", _("Do you have epilepsy, or have you had a seizure?"), rule="A20"),
            yes_no(
                "lung_osa",
                _("Do you use oxygen at home, have severe lung disease, or use a CPAP machine?"),
                rule="A21",
            ),
            Question(
                "other_allergies", _("Any other allergies"), "text", max_length=500, required=False
            ),
        ),
    ),
    Section(
        "consent",
        _("Check and send"),
        _(
            "Please confirm before you send your answers. You cannot change them after sending, but you can call us."
        ),
        (
            Question(
                "attest_true",
                _("The answers I have given are true and complete to the best of my knowledge."),
                "checkbox",
            ),
            Question(
                "consent_contact_doctors",
                _("The care team may contact my oncologist or other doctors about my care."),
                "checkbox",
                required=False,
            ),
            Question(
                "signature_name", _("Type your full name as your signature"), "text", max_length=200
            ),
        ),
    ),
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

QUESTIONNAIRES: dict[str, tuple[Section, ...]] = {
    SCREENING: SECTIONS,
    CHECK_IN: CHECK_IN_SECTIONS,
}

SECTION_KEYS = tuple(section.key for section in SECTIONS)
CHECK_IN_SECTION_KEYS = tuple(section.key for section in CHECK_IN_SECTIONS)


def sections(kind: str = SCREENING) -> tuple[Section, ...]:
    """The steps of one questionnaire, in order (KeyError for an unknown kind)."""
    return QUESTIONNAIRES[kind]


def section_keys(kind: str = SCREENING) -> tuple[str, ...]:
    return tuple(section_.key for section_ in sections(kind))


def section(key: str, kind: str = SCREENING) -> Section:
    for candidate in sections(kind):
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def questions(kind: str = SCREENING) -> dict[str, Question]:
    """Every clinic-authored question of one questionnaire by key."""
    return {
        part.key: part
        for section_ in sections(kind)
        for part in section_.parts
        if isinstance(part, Question)
    }


def all_questions() -> dict[str, Question]:
    """Every clinic-authored question of every questionnaire by key (keys are unique across
    questionnaires; a test checks it)."""
    found: dict[str, Question] = {}
    for kind in QUESTIONNAIRES:
        found.update(questions(kind))
    return found
