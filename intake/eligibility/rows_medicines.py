"""The medicines of note (reference §7.2; tiers PROPOSED)."""

from __future__ import annotations

from intake import policy
from intake.eligibility.checks import (
    INFO,
    REVIEW,
    opioid_mme,
    takes,
)
from intake.eligibility.rule import (
    Rule,
)

MEDICINE_RULES: tuple[Rule, ...] = (
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
)
