"""The screening's contraindication steps: blood pressure, heart, mental health, substances,
pregnancy and other conditions.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from intake.questions.base import (
    YES,
    YES_NO_NA,
    InstrumentBlock,
    Question,
    Section,
    when,
    yes_no,
    yes_no_unsure,
)

CONDITION_SECTIONS: tuple[Section, ...] = (
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
)
