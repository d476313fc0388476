"""The rules tables: every row of the reference's tables (shared/clinical/screening-reference.md
§1.2, §2.4, §3, §4, §5, §7.2) that an intake answer can trigger, with its tier and source (RULES,
for the screening), and the rules for the pre-infusion check-in (CHECK_IN_RULES). Thresholds live
in intake.policy, the medical director's one place to change them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from intake import policy, scoring
from intake.eligibility.checks import (
    HARD_STOP,
    INFO,
    REVIEW,
    URGENT,
    Check,
    Facts,
    age_under,
    all_of,
    answer_in,
    any_of,
    contains,
    date_within,
    dated,
    gte,
    not_,
    noted,
    opioid_mme,
    optional,
    pcl5_probable,
    reported_bp,
    score_at_least,
    takes,
    text_given,
    yes,
)
from intake.instruments import instrument

# --- The rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str  # stable; Flag.rule_id (max 40 characters)
    severity: str
    title: str
    source: str  # the reference's rule id and basis
    when: Check
    priority: Callable[[Facts], str] | None = None


def _item9_priority(facts: Facts) -> str:
    """The escalation level from instruments.json (phq9_item9_positive): "urgent" for 1,
    "immediate" for 2 or more; the most pressing when none matches."""
    value = scoring.item_value(facts.answers, "phq9_9")
    compare = {">": operator.gt, ">=": operator.ge, "==": operator.eq}
    for rule in instrument("phq9").critical_item_rules:
        for step in rule.get("escalation", ()):
            condition = step["condition"]
            if value is not None and compare[condition["operator"]](value, condition["value"]):
                return step["priority"]
    return "immediate"


# Parts shared by a hard stop and its review tier, so the two can never both fire.
MI_WITHIN_HARD_STOP = date_within("mi_on", days=policy.MI_HARD_STOP_DAYS)
STROKE_WITHIN_HARD_STOP = date_within(
    "stroke_on", months=policy.STROKE_HARD_STOP_MONTHS, inclusive=False
)
HF_DECOMPENSATED = any_of(
    yes(
        "hf_symptoms",
        missing_counts=True,
        say="breathless at rest or on minimal exertion, or new swelling",
    ),
    yes(
        "hf_hospital_3m",
        missing_counts=True,
        say=f"hospital stay for HF in the last {policy.HF_HOSPITAL_MONTHS} months",
    ),
)
ARRHYTHMIA_UNCONTROLLED = any_of(
    yes("arrhythmia_symptoms", missing_counts=True, say="fainting or racing heart recently"),
    answer_in("arrhythmia_controlled", "no", missing_counts=True, say="not controlled"),
)
RAISED_ICP = all_of(
    yes("brain_condition"),
    contains("brain_condition_kind", "raised_pressure", "hydrocephalus_shunt", missing_counts=True),
)
EYE_ACUTE = answer_in("eye_acute", "yes", missing_counts=True)
HYPERTENSION_UNCONTROLLED = all_of(
    yes("bp_diagnosed"), answer_in("bp_controlled", "no", missing_counts=True)
)

# §5.3 / A23: crisis pathway, at intake and before every infusion. Booking is not blocked; no
# infusion before a documented assessment.
PHQ9_ITEM9_POSITIVE = Rule(
    "phq9_item9_positive",
    URGENT,
    "PHQ-9 item 9 positive (thoughts of death or self-harm): contact the patient and complete "
    "a validated suicide-risk assessment before any infusion",
    "A23 / §5.3 · Simon 2013, 2016; NPSG 15.01.01; workflow PROPOSED",
    gte("phq9_9", 1, say="item 9:"),
    priority=_item9_priority,
)
PHQ9_MODERATE_OR_ABOVE = Rule(
    "phq9_moderate_or_above",
    INFO,
    f"PHQ-9 >= {policy.PHQ9_FLAG_AT}",
    "§5.2 · Kroenke 2001",
    score_at_least("phq9", policy.PHQ9_FLAG_AT),
)
GAD7_MODERATE_OR_ABOVE = Rule(
    "gad7_moderate_or_above",
    INFO,
    f"GAD-7 >= {policy.GAD7_FLAG_AT}",
    "§5.4 · Spitzer 2006",
    score_at_least("gad7", policy.GAD7_FLAG_AT),
)

RULES: tuple[Rule, ...] = (
    PHQ9_ITEM9_POSITIVE,
    # §1.2
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
    # §3 cardiac and cerebrovascular (windows PROPOSED, by analogy)
    Rule(
        "mi_recent",
        HARD_STOP,
        f"Heart attack within {policy.MI_HARD_STOP_DAYS} days",
        "A6 / §3 · 2014 ACC/AHA perioperative guideline (>= 60 days after MI); PROPOSED",
        all_of(yes("mi_ever"), MI_WITHIN_HARD_STOP),
    ),
    Rule(
        "mi_within_6_months",
        REVIEW,
        f"Heart attack {policy.MI_HARD_STOP_DAYS} days to {policy.MI_REVIEW_MONTHS} months ago",
        "A6 / §3 · 2014 ACC/AHA perioperative guideline; one clinic excludes MI within 6 months; "
        "PROPOSED",
        all_of(
            yes("mi_ever"),
            date_within("mi_on", months=policy.MI_REVIEW_MONTHS),
            not_(MI_WITHIN_HARD_STOP),
        ),
    ),
    Rule(
        "angina_unstable",
        HARD_STOP,
        "Chest pain in the past month that is new, worsening or at rest (possible unstable angina)",
        "A6 / §3 · Cohen 2018 (poorly controlled cardiovascular disease); PROPOSED",
        yes("angina_recent"),
    ),
    Rule(
        "stent_or_bypass_recent",
        REVIEW,
        f"Coronary stent or bypass within {policy.STENT_BYPASS_REVIEW_MONTHS} months",
        "A6 / §3 · 2014 ACC/AHA (365 days after drug-eluting stent), by analogy; PROPOSED",
        all_of(
            yes("stent_or_bypass"),
            date_within("stent_or_bypass_on", months=policy.STENT_BYPASS_REVIEW_MONTHS),
        ),
    ),
    Rule(
        "heart_failure_decompensated",
        HARD_STOP,
        "Heart failure with current symptoms or a recent hospital stay",
        "A6 / §3 · decompensated HF is an active cardiac condition; 3-month window PROPOSED",
        all_of(yes("heart_failure"), HF_DECOMPENSATED),
    ),
    Rule(
        "heart_failure_stable",
        REVIEW,
        "Heart failure, stable (no current symptoms, no recent hospital stay)",
        "A6 / §3 · Cohen 2018 ('poorly controlled' is the test); PROPOSED",
        all_of(yes("heart_failure"), not_(HF_DECOMPENSATED)),
    ),
    Rule(
        "arrhythmia_uncontrolled",
        HARD_STOP,
        "Arrhythmia or long QT, uncontrolled or symptomatic",
        "A6 / §3 · one clinic excludes rate-uncontrolled AF and long QT; Mayo trial; PROPOSED",
        all_of(yes("arrhythmia"), ARRHYTHMIA_UNCONTROLLED),
    ),
    Rule(
        "arrhythmia_controlled",
        REVIEW,
        "Arrhythmia or long QT, controlled (or patient not sure)",
        "A6 / §3 · one clinic excludes rate-uncontrolled AF and long QT; PROPOSED",
        all_of(
            yes("arrhythmia"),
            not_(ARRHYTHMIA_UNCONTROLLED),
            optional(
                answer_in(
                    "arrhythmia_controlled", "unsure", say="patient not sure it is controlled"
                )
            ),
        ),
    ),
    Rule(
        "valve_severe",
        REVIEW,
        "Severe heart-valve disease",
        "A6 / §3 · older ACC/AHA perioperative guidance (unconfirmed)",
        yes("valve_severe"),
    ),
    Rule(
        "stroke_tia_recent",
        HARD_STOP,
        f"Ischaemic stroke or TIA less than {policy.STROKE_HARD_STOP_MONTHS} months ago",
        "A6 / §3 · Jørgensen 2014; one clinic excludes stroke within 6 months; PROPOSED",
        all_of(yes("stroke_tia"), STROKE_WITHIN_HARD_STOP),
    ),
    Rule(
        "stroke_tia_past",
        REVIEW,
        f"Ischaemic stroke or TIA {policy.STROKE_HARD_STOP_MONTHS} months ago or more",
        "A6 / §3 · Jørgensen 2014; PROPOSED",
        all_of(yes("stroke_tia"), not_(STROKE_WITHIN_HARD_STOP), optional(dated("stroke_on"))),
    ),
    Rule(
        "hypertensive_encephalopathy",
        REVIEW,
        "History of hypertensive encephalopathy: monitor BP more closely",
        "§3 · Spravato (closer monitoring)",
        yes("hypertensive_emergency"),
    ),
    # §2.4 / §3 blood pressure
    Rule(
        "hypertension_uncontrolled",
        HARD_STOP,
        "Known high blood pressure, not controlled: defer until the primary care physician has "
        "controlled it",
        "§3 / §2.4 · clinic policy; Ketalar label; Cohen 2018",
        HYPERTENSION_UNCONTROLLED,
    ),
    Rule(
        "hypertension_control_unsure",
        REVIEW,
        "Known high blood pressure, patient not sure it is controlled",
        "§3 / §2.4 · clinic policy; review tier for 'not sure' PROPOSED",
        all_of(yes("bp_diagnosed"), answer_in("bp_controlled", "unsure")),
    ),
    Rule(
        "bp_reported_high",
        REVIEW,
        f"Self-reported BP >= {policy.BP_REVIEW_SYSTOLIC}/{policy.BP_REVIEW_DIASTOLIC}, not a "
        "measurement: confirm on the day",
        "A7 / §2.4 · self-reported reading, never a hard stop at intake; PROPOSED",
        reported_bp(review=True),
    ),
    Rule(
        "bp_reported_elevated",
        INFO,
        f"Self-reported BP {policy.BP_INFO_SYSTOLIC}-{policy.BP_REVIEW_SYSTOLIC - 1} or "
        f"{policy.BP_INFO_DIASTOLIC}-{policy.BP_REVIEW_DIASTOLIC - 1}, not a measurement",
        "A7 / §2.4 · Spravato (> 140/90: weigh benefit and risk); PROPOSED",
        reported_bp(review=False),
    ),
    Rule(
        "bp_medicine",
        INFO,
        "Takes blood-pressure medicine: continue on infusion days unless told otherwise",
        "§2.4 / §7.2 antihypertensives · published clinic instructions",
        yes("bp_treated"),
    ),
    # §7.2 medicines (tiers PROPOSED)
    Rule(
        "med_benzodiazepine",
        REVIEW,
        "Benzodiazepine (may reduce the antidepressant effect): record dose and "
        "diazepam-equivalent",
        "§7.2 · Andrade 2017; Andrashko 2020",
        takes("benzodiazepine"),
    ),
    Rule(
        "med_maoi",
        REVIEW,
        "MAOI: monitor BP closely",
        "§7.2 · Spravato label",
        takes("maoi"),
    ),
    Rule(
        "med_psychostimulant",
        REVIEW,
        "Prescribed psychostimulant: risk of raised BP and heart rate",
        "§7.2 · Spravato label; Ketalar label (unconfirmed wording)",
        takes("psychostimulant"),
    ),
    Rule(
        "med_opioid_high_mme",
        REVIEW,
        f"Opioids at or above {policy.OPIOID_MME_REVIEW_AT} MME/day: additive sedation and "
        "respiratory depression",
        "§7.2 · CDC 2016/2022; threshold PROPOSED; information only for cancer pain",
        opioid_mme(at_least=policy.OPIOID_MME_REVIEW_AT),
    ),
    Rule(
        "med_opioid",
        INFO,
        "Opioids: additive sedation",
        "§7.2 · ASA 2025; CDC 2022",
        opioid_mme(below=policy.OPIOID_MME_REVIEW_AT),
    ),
    Rule(
        "med_lamotrigine",
        INFO,
        "Lamotrigine (effect on ketamine's antidepressant action not known)",
        "§7.2 · Andrade 2017; Mayo trial exclusion",
        takes("lamotrigine"),
    ),
    Rule(
        "med_nmda_other",
        INFO,
        "Other NMDA-active medicine",
        "§7.2 · Mayo trial exclusion list",
        takes("nmda_other"),
    ),
    Rule(
        "med_cns_depressant",
        INFO,
        "Other CNS depressant: additive sedation",
        "§7.2 · Spravato label (CNS depressants)",
        takes("cns_depressant"),
    ),
    Rule(
        "med_naltrexone",
        INFO,
        "Naltrexone (may attenuate the antidepressant effect)",
        "§7.2 · Williams 2018 (unconfirmed)",
        takes("naltrexone"),
    ),
    Rule(
        "med_cyp_interacting",
        INFO,
        "CYP3A4/CYP2B6 inhibitor or inducer: changes ketamine exposure",
        "§7.2 · Andrade 2017",
        takes("cyp_interacting"),
    ),
    Rule(
        "med_glp1_agonist",
        INFO,
        "GLP-1 receptor agonist: delayed gastric emptying, review fasting instructions",
        "§7.2 · ASA guidance on GLP-1 RAs and sedation (unconfirmed)",
        takes("glp1_agonist"),
    ),
    Rule(
        "med_theophylline",
        INFO,
        "Theophylline or aminophylline (may lower the seizure threshold)",
        "§7.2 · Ketalar label (unconfirmed)",
        takes("theophylline"),
    ),
    Rule(
        "med_antidepressant",
        INFO,
        "Conventional antidepressant (can probably be combined)",
        "§7.2 · Andrade 2017",
        takes("antidepressant"),
    ),
    # §4, §5 instruments
    Rule(
        "taps1_tobacco_or_alcohol_positive",
        INFO,
        "TAPS-1 positive for tobacco or heavy drinking days",
        "§4 · TAPS-1 (McNeely 2016); PROPOSED",
        any_of(
            gte("taps1_tobacco", 1, say="tobacco:"),
            gte("taps1_alcohol_men", 1, say="5+ drinks a day:"),
            gte("taps1_alcohol_women", 1, say="4+ drinks a day:"),
        ),
    ),
    Rule(
        "kh_prior_treatment",
        INFO,
        "Prior ketamine or esketamine treatment: request dosing, dates and response",
        "§4 / §7.3 · ketamine_use_history supplement",
        gte("kh_prior_medical", 1),
    ),
    PHQ9_MODERATE_OR_ABOVE,
    GAD7_MODERATE_OR_ABOVE,
    Rule(
        "pcl5_probable_ptsd",
        INFO,
        "PCL-5 suggests probable PTSD: confirm with a clinical interview",
        "§5.5 · National Center for PTSD; cut-off PROPOSED",
        pcl5_probable(),
    ),
)

# The pre-infusion check-in (intake.questions.CHECK_IN_SECTIONS). Titles never name the hours of
# the alcohol window: that is a setting, and the question as stored in the evidence carries it.
CHECK_IN_RULES: tuple[Rule, ...] = (
    PHQ9_ITEM9_POSITIVE,
    Rule(
        "check_in_alcohol_or_drugs",
        HARD_STOP,
        "Alcohol or recreational drugs within the pre-visit window: defer today's infusion and "
        "reschedule",
        "A13 · clinic pre-visit instructions",
        yes("alcohol_or_drugs_recent"),
    ),
    Rule(
        "check_in_new_medicines",
        REVIEW,
        "New or changed medicines since the last visit: review before the infusion",
        "§7.2 · medicines of note; pre-infusion check-in",
        all_of(yes("new_medicines"), optional(text_given("new_medicines_detail"))),
    ),
    Rule(
        "check_in_other_changes",
        INFO,
        "Other health changes since the last visit",
        "Pre-infusion check-in",
        all_of(yes("other_changes"), optional(text_given("other_changes_detail"))),
    ),
    PHQ9_MODERATE_OR_ABOVE,
    GAD7_MODERATE_OR_ABOVE,
)
