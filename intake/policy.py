"""The medical director's tunable screening values, in one place.

Every value names the section of the clinical reference (shared/clinical/screening-reference.md)
it comes from and whether the reference marks it PROPOSED (a draft the medical director must
approve before go-live) or confirmed. Rules (intake.eligibility, intake.scoring,
intake.medications) read these names; nothing else in the code repeats the numbers.

Plain values only: no Django settings, no database. Changing a value here changes behaviour for
every submission evaluated afterwards; flags already stored keep the wording they were raised with.
"""

from __future__ import annotations

from decimal import Decimal

# --- Scope -------------------------------------------------------------------------------------

# A22: under 18 is a HARD STOP (clinic scope; Spravato is not approved in paediatrics). Tier
# PROPOSED (§1.2). Age is counted in whole years from the date of birth on the day evaluated; a
# 29 February birthday turns a year older on 1 March in non-leap years.
ADULT_AGE = 18

# --- Instruments (§5) --------------------------------------------------------------------------

# §5.2: PHQ-9 >= 10 (88% sensitivity and specificity for major depression). Confirmed cut-point;
# raising an INFO flag on it is this app's choice.
PHQ9_FLAG_AT = 10
# §5.4: GAD-7 >= 10 is the recommended cut-point for further evaluation. Confirmed cut-point; the
# INFO flag is this app's choice.
GAD7_FLAG_AT = 10
# §5.5: "a provisional cut-point of 31-33 suggests probable PTSD ... This app uses 33 as the
# default cut-off for flagging." Configurable, so treat as PROPOSED. instruments.json bands use
# the same boundary (tests/intake/test_scoring.py checks they agree: change both or neither).
PCL5_CUTOFF = 33

# --- Outcomes over time (measurement-based care; intake.outcomes) -------------------------------

# §5.2: "Response to treatment is often defined as a 50% drop in score" from baseline (a
# convention ketamine clinics have used, not a rule). A point is a response when its score is at
# most (100 - RESPONSE_DROP_PERCENT)% of the baseline, and only when the baseline is above 0.
RESPONSE_DROP_PERCENT = 50
# Remission: a score below the instrument's first band above "none/minimal" (PHQ-9 and GAD-7 both
# put 0-4 in that band, §5.2, §5.4). The pain NRS has no remission marker.
REMISSION_BELOW = {"phq9": 5, "gad7": 5}

# --- Cardiac and cerebrovascular windows (§3; every window PROPOSED, by analogy with 2014 ACC/AHA
# perioperative guidance and Jørgensen 2014) -----------------------------------------------------
# A missing or unreadable date on a "yes" answer is treated as inside the strictest window.

# §3 MI: HARD STOP if <= 60 days (Fleisher 2014: >= 60 days after MI before elective surgery).
MI_HARD_STOP_DAYS = 60
# §3 MI: CLINICIAN REVIEW from 60 days to 6 months (one ketamine clinic excludes MI within 6
# months). Older than 6 months raises no flag: the reference gives no tier beyond it.
MI_REVIEW_MONTHS = 6
# §3 coronary stent or bypass in the past 12 months: CLINICIAN REVIEW (ACC/AHA 2014: elective
# surgery optimally delayed 365 days after a drug-eluting stent). Older raises no flag.
STENT_BYPASS_REVIEW_MONTHS = 12
# §3 ischaemic stroke or TIA: HARD STOP if < 6 months, CLINICIAN REVIEW if >= 6 months (any time
# after). Jørgensen 2014 (risk levels off after about 9 months); one ketamine clinic uses 6 months.
STROKE_HARD_STOP_MONTHS = 6
# §3 heart failure: hospital stay for HF in the past 3 months is a HARD STOP (window PROPOSED).
# The window is asked in the question's own wording (intake/questions.py, "hf_hospital_3m"), so
# changing it needs the question changed too; tests/intake/test_eligibility.py checks they agree.
HF_HOSPITAL_MONTHS = 3

# --- Blood pressure (§2.4, PROPOSED) -------------------------------------------------------------
# §2.4's table is for a *measured*, repeat-confirmed reading on the day (A7: "measured, not
# asked"). At intake the patient only reports their latest reading, so a self-reported value never
# hard-stops: it raises INFO or CLINICIAN REVIEW and the same-day measurement decides.
BP_INFO_SYSTOLIC = 140  # SBP 140-159 -> INFO
BP_INFO_DIASTOLIC = 90  # DBP 90-99 -> INFO
BP_REVIEW_SYSTOLIC = 160  # SBP >= 160 -> CLINICIAN REVIEW (self-reported)
BP_REVIEW_DIASTOLIC = 100  # DBP >= 100 -> CLINICIAN REVIEW (self-reported)
# §2.4: measured SBP > 180 or DBP > 110 is a HARD STOP on the day. Used only to tell the clinician
# that a self-reported reading is in that range; it does not change the intake tier.
BP_MEASURED_HARD_STOP_SYSTOLIC_ABOVE = 180
BP_MEASURED_HARD_STOP_DIASTOLIC_ABOVE = 110
# §3 "known uncontrolled hypertension": HARD STOP until controlled (the clinic's own policy). A
# patient who is not sure it is controlled gets CLINICIAN REVIEW (this app's PROPOSED reading).

# --- Opioids (§7.2) -------------------------------------------------------------------------------

# §7.2: opioids are INFO, or CLINICIAN REVIEW at >= 90 MME/day (PROPOSED). CDC 2016: avoid
# escalating to >= 90. For cancer patients MME is for information and sedation-risk awareness only,
# not a limit (§7.2 caveats).
OPIOID_MME_REVIEW_AT = Decimal("90")

# §7.2 "MME/day calculation (CDC 2022, confirmed)": factor per mg of daily dose, except fentanyl,
# whose factor is per mcg/h of a transdermal patch (the patch rate is not multiplied by times per
# day). Each entry: generic -> (factor, the dose unit the factor applies to).
MME_FACTORS: dict[str, tuple[Decimal, str]] = {
    "codeine": (Decimal("0.15"), "mg"),
    "fentanyl": (Decimal("2.4"), "mcg_per_hour"),  # transdermal only
    "hydrocodone": (Decimal("1.0"), "mg"),
    "hydromorphone": (Decimal("5.0"), "mg"),
    "methadone": (Decimal("4.7"), "mg"),  # CDC: methadone needs particular caution
    "morphine": (Decimal("1.0"), "mg"),
    "oxycodone": (Decimal("1.5"), "mg"),
    "oxymorphone": (Decimal("3.0"), "mg"),
    "tapentadol": (Decimal("0.4"), "mg"),
    "tramadol": (Decimal("0.2"), "mg"),
}

# --- Medication classes (§7.2) -----------------------------------------------------------------
# generic name -> common US brand (or other) names. Names are matched case-insensitively,
# ignoring dose text and release suffixes (intake.medications). A brand listed under two generics
# is a combination product and carries both. Generics not named in the reference are marked;
# their class membership is ordinary pharmacology but still for the medical director to confirm.

# §7.2 benzodiazepines: CLINICIAN REVIEW (may reduce the antidepressant effect; Andrade 2017,
# Andrashko 2020; confirmed). Tier PROPOSED. The reference asks for a diazepam-equivalent but gives
# no conversion table, so none is computed.
BENZODIAZEPINES: dict[str, tuple[str, ...]] = {
    "alprazolam": ("Xanax", "Niravam"),
    "chlordiazepoxide": ("Librium",),
    "clobazam": ("Onfi", "Sympazan"),
    "clonazepam": ("Klonopin",),
    "clorazepate": ("Tranxene",),
    "diazepam": ("Valium", "Valtoco", "Diastat"),
    "estazolam": (),
    "flurazepam": (),
    "lorazepam": ("Ativan", "Loreev"),
    "midazolam": ("Nayzilam",),
    "oxazepam": (),
    "quazepam": ("Doral",),
    "temazepam": ("Restoril",),
    "triazolam": ("Halcion",),
}

# §7.2 MAOIs incl. the selegiline patch: CLINICIAN REVIEW, closer BP monitoring (Spravato label;
# confirmed). Tier PROPOSED. Only the drugs the reference names.
MAOIS: dict[str, tuple[str, ...]] = {
    "isocarboxazid": ("Marplan",),
    "phenelzine": ("Nardil",),
    "selegiline": ("Emsam", "Eldepryl", "Zelapar"),
    "tranylcypromine": ("Parnate",),
}

# §7.2 psychostimulants (amphetamines, methylphenidate, modafinil): prescribed use is CLINICIAN
# REVIEW (Spravato label; confirmed). Tier PROPOSED. Illicit stimulants are A12/A13 (TAPS-1).
PSYCHOSTIMULANTS: dict[str, tuple[str, ...]] = {
    "amphetamine": ("Adderall", "Mydayis", "Evekeo", "Adzenys", "Dyanavel"),
    "dextroamphetamine": ("Dexedrine", "Zenzedi", "ProCentra", "Adderall", "Mydayis"),
    "lisdexamfetamine": ("Vyvanse",),
    "methamphetamine": ("Desoxyn",),
    "methylphenidate": (
        "Ritalin",
        "Concerta",
        "Metadate",
        "Methylin",
        "Daytrana",
        "Quillichew",
        "Quillivant",
        "Jornay",
        "Aptensio",
        "Cotempla",
        "Relexxii",
    ),
    "dexmethylphenidate": ("Focalin",),
    "modafinil": ("Provigil",),
    "armodafinil": ("Nuvigil",),
}

# §7.2 opioids: INFO with MME/day, CLINICIAN REVIEW at OPIOID_MME_REVIEW_AT (PROPOSED). The first
# ten have a CDC factor (MME_FACTORS); buprenorphine, meperidine, levorphanol and transmucosal
# fentanyl have none in the reference, so they are flagged with "MME not computed".
OPIOIDS: dict[str, tuple[str, ...]] = {
    "codeine": ("Tylenol with Codeine", "Tylenol #3", "Tylenol #4", "Tylenol 3", "Tylenol 4"),
    "fentanyl": ("Duragesic",),
    "fentanyl transmucosal": ("Actiq", "Fentora", "Subsys", "Lazanda", "Abstral"),
    "hydrocodone": ("Vicodin", "Norco", "Lortab", "Hysingla", "Zohydro"),
    "hydromorphone": ("Dilaudid", "Exalgo"),
    "methadone": ("Dolophine", "Methadose"),
    "morphine": ("MS Contin", "Kadian", "Arymo"),
    "oxycodone": (
        "OxyContin",
        "Roxicodone",
        "Xtampza",
        "Oxaydo",
        "Percocet",
        "Endocet",
        "Roxicet",
    ),
    "oxymorphone": ("Opana",),
    "tapentadol": ("Nucynta",),
    "tramadol": ("Ultram", "ConZip", "Ultracet"),
    # Not in the reference's factor table.
    "buprenorphine": ("Butrans", "Belbuca", "Suboxone", "Subutex", "Zubsolv", "Sublocade"),
    "levorphanol": (),
    "meperidine": ("Demerol",),
}
# Brands that combine an opioid with a non-opioid (acetaminophen, ibuprofen, naloxone): the dose a
# patient types may be the tablet strength or the non-opioid's mg, so the flag asks the clinician
# to check it. Typed names containing one of COMBINATION_MARKERS are treated the same way.
COMBINATION_PRODUCTS = (
    "Tylenol with Codeine",
    "Tylenol #3",
    "Tylenol #4",
    "Tylenol 3",
    "Tylenol 4",
    "Vicodin",
    "Norco",
    "Lortab",
    "Percocet",
    "Endocet",
    "Roxicet",
    "Ultracet",
    "Suboxone",
    "Zubsolv",
)
COMBINATION_MARKERS = ("acetaminophen", "apap", "paracetamol", "ibuprofen", "aspirin", "naloxone")

# §7.2 lamotrigine: INFO (Andrade 2017: effect on ketamine's antidepressant action not known;
# Mayo trial excludes it). The reference offers INFO / CLINICIAN REVIEW; INFO is used here.
LAMOTRIGINE: dict[str, tuple[str, ...]] = {"lamotrigine": ("Lamictal",)}

# §7.2 other NMDA-active drugs (Mayo trial exclusion list; lithium in one trial): INFO.
NMDA_OTHER: dict[str, tuple[str, ...]] = {
    "memantine": ("Namenda", "Namzaric"),
    "riluzole": ("Rilutek", "Tiglutik", "Exservan"),
    "acamprosate": ("Campral",),
    "lithium": ("Lithobid", "Eskalith"),
}

# §7.2 naltrexone: INFO (Williams 2018; unconfirmed).
NALTREXONE: dict[str, tuple[str, ...]] = {"naltrexone": ("Vivitrol", "Revia", "Contrave")}

# §7.2 other CNS depressants (gabapentinoids, Z-drugs, sedating antihistamines, muscle relaxants):
# INFO (Spravato label: monitor sedation). Alcohol is asked in TAPS-1, not here. Methocarbamol,
# metaxalone and doxylamine are not named in the reference (same classes as named drugs).
CNS_DEPRESSANTS: dict[str, tuple[str, ...]] = {
    "gabapentin": ("Neurontin", "Gralise", "Horizant"),
    "pregabalin": ("Lyrica",),
    "zolpidem": ("Ambien", "Edluar", "Intermezzo"),
    "eszopiclone": ("Lunesta",),
    "zaleplon": ("Sonata",),
    "cyclobenzaprine": ("Flexeril", "Amrix"),
    "carisoprodol": ("Soma",),
    "baclofen": ("Lioresal", "Ozobax", "Fleqsuvy"),
    "tizanidine": ("Zanaflex",),
    "methocarbamol": ("Robaxin",),
    "metaxalone": ("Skelaxin",),
    "diphenhydramine": ("Benadryl", "ZzzQuil", "Tylenol PM", "Advil PM"),
    "doxylamine": (),
    "hydroxyzine": ("Vistaril", "Atarax"),
    "promethazine": ("Phenergan",),
}

# §7.2 CYP3A4 / CYP2B6 inhibitors or inducers named in the reference (Andrade 2017): INFO.
CYP_INTERACTING: dict[str, tuple[str, ...]] = {
    "clarithromycin": ("Biaxin",),
    "ketoconazole": ("Nizoral",),
    "rifampin": ("Rifadin", "Rimactane", "rifampicin"),
    "carbamazepine": ("Tegretol", "Carbatrol", "Epitol", "Equetro"),
}

# §7.2 GLP-1 receptor agonists: INFO for fasting instructions (ASA GLP-1 guidance; unconfirmed,
# ask the clinic).
GLP1_AGONISTS: dict[str, tuple[str, ...]] = {
    "semaglutide": ("Ozempic", "Wegovy", "Rybelsus"),
    "tirzepatide": ("Mounjaro", "Zepbound"),
    "liraglutide": ("Victoza", "Saxenda"),
    "dulaglutide": ("Trulicity",),
    "exenatide": ("Byetta", "Bydureon"),
}

# §7.2 theophylline / aminophylline: INFO (may lower the seizure threshold; Ketalar label,
# unconfirmed).
THEOPHYLLINES: dict[str, tuple[str, ...]] = {
    "theophylline": ("Theo-24", "Uniphyl", "Elixophyllin", "Theochron"),
    "aminophylline": (),
}

# §7.2 conventional antidepressants (SSRIs, SNRIs, etc.): INFO, "can probably be combined safely"
# (Andrade 2017; confirmed). The reference names no drugs; these are the common ones. MAOIs are
# their own class above.
ANTIDEPRESSANTS: dict[str, tuple[str, ...]] = {
    "citalopram": ("Celexa",),
    "escitalopram": ("Lexapro",),
    "fluoxetine": ("Prozac", "Sarafem"),
    "fluvoxamine": ("Luvox",),
    "paroxetine": ("Paxil", "Pexeva"),
    "sertraline": ("Zoloft",),
    "desvenlafaxine": ("Pristiq",),
    "duloxetine": ("Cymbalta",),
    "levomilnacipran": ("Fetzima",),
    "venlafaxine": ("Effexor",),
    "bupropion": ("Wellbutrin", "Aplenzin", "Forfivo", "Zyban", "Contrave", "Auvelity"),
    "mirtazapine": ("Remeron",),
    "trazodone": ("Desyrel", "Oleptro"),
    "vilazodone": ("Viibryd",),
    "vortioxetine": ("Trintellix",),
    "amitriptyline": ("Elavil",),
    "clomipramine": ("Anafranil",),
    "desipramine": ("Norpramin",),
    "doxepin": ("Sinequan", "Silenor"),
    "imipramine": ("Tofranil",),
    "nortriptyline": ("Pamelor",),
}

# Class id -> its table. The class ids are what intake.medications.classes_in returns.
MEDICATION_CLASSES: dict[str, dict[str, tuple[str, ...]]] = {
    "benzodiazepine": BENZODIAZEPINES,
    "maoi": MAOIS,
    "psychostimulant": PSYCHOSTIMULANTS,
    "opioid": OPIOIDS,
    "lamotrigine": LAMOTRIGINE,
    "nmda_other": NMDA_OTHER,
    "naltrexone": NALTREXONE,
    "cns_depressant": CNS_DEPRESSANTS,
    "cyp_interacting": CYP_INTERACTING,
    "glp1_agonist": GLP1_AGONISTS,
    "theophylline": THEOPHYLLINES,
    "antidepressant": ANTIDEPRESSANTS,
}
