"""The tiered contraindication and caution rules with their patient-facing questions (reference
§1.2)."""

from __future__ import annotations

from intake import policy
from intake.eligibility.checks import (
    HARD_STOP,
    REVIEW,
    age_under,
    all_of,
    answer_in,
    any_of,
    contains,
    gte,
    not_,
    noted,
    optional,
    yes,
)
from intake.eligibility.rule import (
    EYE_ACUTE,
    RAISED_ICP,
    Rule,
)

CONTRAINDICATION_RULES: tuple[Rule, ...] = (
    Rule(
        "ketamine_allergy",
        HARD_STOP,
        "Allergy or hypersensitivity to ketamine or esketamine",
        "A1 · Ketalar and Spravato labels",
        yes("ketamine_allergy"),
    ),
    Rule(
        "pregnancy",
        HARD_STOP,
        "Pregnant, possibly pregnant, or planning pregnancy in the next 3 months",
        "A2 · Spravato patient information; trial exclusions; clinic practice",
        yes("pregnancy"),
    ),
    Rule(
        "breastfeeding",
        REVIEW,
        "Currently breastfeeding",
        "A3 · Spravato: do not breastfeed",
        yes("breastfeeding"),
    ),
    Rule(
        "aneurysm_avm",
        HARD_STOP,
        "Known aneurysm (brain, aorta or other artery) or arteriovenous malformation",
        "A4 / §3 · Spravato contraindication",
        yes("aneurysm_avm"),
    ),
    Rule(
        "brain_bleed",
        HARD_STOP,
        "History of intracerebral haemorrhage",
        "A5 / §3 · Spravato contraindication",
        yes("brain_bleed"),
    ),
    Rule(
        "psychosis_or_mania_current",
        HARD_STOP,
        "Current psychosis or mania/hypomania",
        "A8 · Cohen 2018 (poorly controlled psychoses); trial exclusions",
        any_of(
            yes("psychosis_recent", say="hallucinations or paranoia in the past month"),
            yes("mania_recent", say="elevated mood or much less sleep in the past 2 weeks"),
        ),
    ),
    Rule(
        "psychosis_history",
        REVIEW,
        "Past diagnosis of a psychotic disorder or hospitalisation for psychosis",
        "A9 · Sanacora 2017 (secondary); Spravato (assess benefit and risk)",
        yes("psychosis_history"),
    ),
    Rule(
        "bipolar",
        REVIEW,
        "Bipolar disorder",
        "A10 · trial practice (bipolar depression with mood stabilisers)",
        yes("bipolar"),
    ),
    Rule(
        "kh_nonmedical_use",
        HARD_STOP,
        "Non-medical ketamine use, or treatment for ketamine-related problems",
        "A11 · clinic policy (history of ketamine misuse); Cohen 2018",
        all_of(
            any_of(
                noted("non-medical use", gte("kh_nonmedical_ever", 1)),
                noted("treated for ketamine-related problems", gte("kh_treatment", 1)),
            ),
            optional(gte("kh_last_use", 1, say="last use:")),
        ),
    ),
    Rule(
        "taps1_drug_or_rx_positive",
        REVIEW,
        "TAPS-1 positive for illicit drugs or prescription misuse: complete TAPS-2; hard stop if "
        "an active substance-use disorder is confirmed",
        "A12 / §4 · Cohen 2018 (no serial infusions with active substance abuse); TAPS-1; PROPOSED",
        any_of(
            gte("taps1_drugs", 1, say="illicit drugs:"),
            gte("taps1_rx", 1, say="prescription misuse:"),
        ),
    ),
    Rule(
        "raised_icp",
        HARD_STOP,
        "Known or suspected raised intracranial pressure (hydrocephalus, shunt, or told of raised "
        "pressure)",
        "A14 · Cohen 2018 (grade C); Mayo trial exclusion",
        RAISED_ICP,
    ),
    Rule(
        "brain_tumour_or_metastasis",
        REVIEW,
        "Brain tumour or brain metastases without known raised pressure",
        "A15 · Cohen 2018 (lower dose, extreme caution)",
        all_of(
            any_of(
                all_of(yes("brain_condition"), contains("brain_condition_kind", "tumour")),
                contains("metastasis_sites", "brain"),
            ),
            not_(RAISED_ICP),
        ),
    ),
    Rule(
        "eye_acute",
        HARD_STOP,
        "Acute angle-closure glaucoma or open-globe eye injury",
        "A16 · Cohen 2018 (grade C); hard-stop tier PROPOSED",
        all_of(yes("eye_pressure"), EYE_ACUTE),
    ),
    Rule(
        "eye_pressure",
        REVIEW,
        "Glaucoma or raised eye pressure, or eye surgery or injury in the last 3 months",
        "A16 · Cohen 2018 (grade C)",
        all_of(
            yes("eye_pressure"),
            not_(EYE_ACUTE),
            optional(
                answer_in(
                    "eye_acute",
                    "unsure",
                    say="patient not sure whether acute angle-closure or open-globe",
                )
            ),
        ),
    ),
    Rule(
        "liver_severe",
        HARD_STOP,
        "Severe liver disease (cirrhosis, liver failure or severe damage)",
        "A17 · Cohen 2018 (avoid in severe hepatic impairment)",
        yes("liver_severe"),
    ),
    Rule(
        "liver_disease",
        REVIEW,
        "Liver disease, liver metastases or abnormal liver tests: plan liver-test monitoring",
        "A18 · Cohen 2018 (judicious use with monitoring); Noppers 2011; Cotter 2021",
        any_of(
            yes("liver_disease"),
            noted("liver metastases", contains("metastasis_sites", "liver")),
        ),
    ),
    Rule(
        "bladder_symptoms",
        REVIEW,
        "Bladder or urinary symptoms, or interstitial cystitis",
        "A19 · Psychiatric Annals 2018 (screen for a history of cystitis)",
        yes("bladder"),
    ),
    Rule(
        "kh_urinary_symptoms",
        REVIEW,
        "Urinary or bladder problems a doctor linked to ketamine (possible ketamine uropathy)",
        "A19 / §4 · ketamine_use_history supplement (not validated); Psychiatric Annals 2018",
        gte("kh_urinary", 1),
    ),
    Rule(
        "seizures",
        REVIEW,
        "Epilepsy or a past seizure",
        "A20 · some clinic exclusion lists; not a guideline item (unconfirmed)",
        yes("seizures"),
    ),
    Rule(
        "lung_disease_osa",
        REVIEW,
        "Home oxygen, severe lung disease or CPAP (sleep apnoea): bring CPAP",
        "A21 · clinic practice; not a guideline item (unconfirmed)",
        yes("lung_osa"),
    ),
    Rule(
        "under_18",
        HARD_STOP,
        f"Under {policy.ADULT_AGE}",
        "A22 · clinic scope; Spravato not approved in paediatrics",
        age_under(policy.ADULT_AGE),
    ),
)
