"""Every code the FHIR resources use, each with where it was confirmed (issue 23: "name the source
of each code in one mapping module; never guess a code").

A LOINC code is here only when LOINC's own published pages (loinc.org), or HL7's FHIR
specification pages built from the LOINC table, show it with its name; the `source` beside each
is that page. A code that could not be confirmed that way is left out, with a comment saying
what was looked for, and the resource that would carry it is not built.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str
    source: str


# --- LOINC: scores ----------------------------------------------------------------------------

PHQ9_TOTAL = Code(
    LOINC,
    "44261-6",
    "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "https://cdn.loinc.org/44261-6 (LOINC's term page; example unit {score})",
)
PHQ9_PANEL = Code(
    LOINC,
    "44249-1",
    "PHQ-9 quick depression assessment panel [Reported.PHQ]",
    "https://cdn.loinc.org/44261-6 ('Member of these Panels': 44249-1)",
)
GAD7_TOTAL = Code(
    LOINC,
    "70274-6",
    "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    "https://loinc.org/69729-2 (LOINC's PHQ-SADS panel hierarchy lists 70274-6, unit {score})",
)
# GAD-7 panel (69737-5 is the number commonly quoted): not confirmed. LOINC's own pages found
# (loinc.org/69729-2) list the GAD-7 items and total but not a GAD-7 panel term; 69737-5 was seen
# only in Wikipedia mirrors. Left out until read from LOINC's table.
# PCL-5 total score: not confirmed. The only LOINC term found for the PCL-5 is the panel 101697-1
# "Post traumatic stress disorder checklist - civilian version DSM-5 [PCL-5]", seen on a
# third-party code browser (findacode.com), not on loinc.org, and no total-score term at all. Left
# out: the PCL-5 score is not exported as an Observation yet.

# --- LOINC: vital signs (the FHIR vital-signs profile's codes) --------------------------------

BP_PANEL = Code(
    LOINC,
    "85354-9",
    "Blood pressure panel with all children optional",
    "https://hl7.org/fhir/R4B/valueset-observation-vitalsignresult.html (definition: 'The Blood "
    "pressure panel (85354-9) is used to group the component observations')",
)
SYSTOLIC = Code(
    LOINC,
    "8480-6",
    "Systolic blood pressure",
    "https://hl7.org/fhir/R4B/valueset-observation-vitalsignresult.html ('Systolic blood "
    "pressure (8480-6)')",
)
DIASTOLIC = Code(
    LOINC,
    "8462-4",
    "Diastolic blood pressure",
    "https://hl7.org/fhir/R4B/valueset-observation-vitalsignresult.html ('Diastolic blood "
    "pressure (8462-4)')",
)
HEART_RATE = Code(
    LOINC,
    "8867-4",
    "Heart rate",
    "https://build.fhir.org/valueset-observation-vitalsignresult.json.html (LOINC 8867-4 "
    "'Heart rate')",
)
SPO2 = Code(
    LOINC,
    "2708-6",
    "Oxygen saturation in Arterial blood",
    "https://build.fhir.org/valueset-observation-vitalsignresult.json.html (LOINC 2708-6 "
    "'Oxygen saturation in Arterial blood')",
)
SPO2_PULSE_OXIMETRY = Code(
    LOINC,
    "59408-5",
    "Oxygen saturation in Arterial blood by Pulse oximetry",
    "http://hl7.org/fhir/us/core/2024Jan/Observation-satO2-fiO2.html (US Core example coded "
    "LOINC#2708-6 and LOINC#59408-5 'Oxygen saturation in Arterial blood by Pulse oximetry')",
)
BODY_WEIGHT = Code(
    LOINC,
    "29463-7",
    "Body weight",
    "https://build.fhir.org/valueset-observation-vitalsign-bodyweight.html (expansion from "
    "tx.fhir.org, LOINC 2.81: 29463-7 'Body weight')",
)

# --- UCUM units -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    code: str
    display: str
    source: str


MM_HG = Unit(
    "mm[Hg]", "mmHg", "https://hl7.org/fhir/R4B/bp.html (blood pressure profile: UCUM mm[Hg])"
)
PER_MINUTE = Unit(
    "/min", "beats/minute", "https://hl7.org/fhir/R4B/heartrate.html (heart rate profile: /min)"
)
PERCENT = Unit(
    "%", "%", "http://hl7.org/fhir/us/core/2024Jan/Observation-satO2-fiO2.html (UCUM code %)"
)
POUND = Unit(
    "[lb_av]",
    "lb",
    "https://hl7.org/fhir/6.0.0-snapshot1/bodyweight.html (valueQuantity.code 'kg', 'g', "
    "'[lb_av]' or '[oz_av]')",
)
SCORE = Unit("{score}", "{score}", "https://cdn.loinc.org/44261-6 (Example Units: {score})")

UNITS = (MM_HG, PER_MINUTE, PERCENT, POUND, SCORE)

# The score Observations built, keyed by Propel's instrument id (intake/data/instruments.json) and
# read from IntakeSubmission.scores[<id>]["total"].
SCORE_CODES: dict[str, Code] = {"phq9": PHQ9_TOTAL, "gad7": GAD7_TOTAL}

LOINC_CODES = (
    PHQ9_TOTAL,
    PHQ9_PANEL,
    GAD7_TOTAL,
    BP_PANEL,
    SYSTOLIC,
    DIASTOLIC,
    HEART_RATE,
    SPO2,
    SPO2_PULSE_OXIMETRY,
    BODY_WEIGHT,
)

# --- FHIR code systems and value sets (HL7's own, part of the R4 specification) ---------------

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OBSERVATION_CATEGORY_SOURCE = "https://hl7.org/fhir/R4B/codesystem-observation-category.html"
SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey", OBSERVATION_CATEGORY_SOURCE)
VITAL_SIGNS = Code(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs", OBSERVATION_CATEGORY_SOURCE)

FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_CATEGORY_SOURCE = "https://hl7.org/fhir/R4B/codesystem-flag-category.html"
# An eligibility flag is a clinical matter for the treating team ("clinical": Clinical).
FLAG_CLINICAL = Code(FLAG_CATEGORY, "clinical", "Clinical", FLAG_CATEGORY_SOURCE)

# Propel's own code systems (no public terminology has them): the eligibility rule that raised a
# flag, and its severity. Namespaced under the clinic's base URL so an EHR can tell them apart.
PROPEL_SYSTEM_BASE = "https://propel.clinic/fhir/CodeSystem"
FLAG_RULE_SYSTEM = f"{PROPEL_SYSTEM_BASE}/eligibility-rule"
FLAG_SEVERITY_SYSTEM = f"{PROPEL_SYSTEM_BASE}/flag-severity"

APPOINTMENT_STATUS_SOURCE = "https://hl7.org/fhir/R4B/valueset-appointmentstatus.html"
# Appointment.status is a required binding to http://hl7.org/fhir/ValueSet/appointmentstatus
APPOINTMENT_STATUSES = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)
PARTICIPATION_STATUS_SOURCE = "https://hl7.org/fhir/R4B/valueset-participationstatus.html"

# Patient.communication.language: BCP-47 (urn:ietf:bcp:47), https://hl7.org/fhir/R4B/valueset-languages.html
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
LANGUAGE_SOURCE = "https://hl7.org/fhir/R4B/valueset-languages.html"

# --- Clinical area (Observation, Flag, Practitioner, Location, Organization in the read API) ---

# The clinician's clearance decision (intake.ClearanceDecision) as an Observation. It is this
# clinic's own decision under its own policy, which no public terminology names, so it is coded
# in Propel's own code system, as the flag's rule and severity are; its value is DecisionKind's
# value (cleared, declined, needs_information) in CLEARANCE_DECISION_SYSTEM.
CLEARANCE_SYSTEM = f"{PROPEL_SYSTEM_BASE}/clearance"
CLEARANCE_DECISION_SYSTEM = f"{PROPEL_SYSTEM_BASE}/clearance-decision"
CLEARANCE = Code(
    CLEARANCE_SYSTEM,
    "infusion-clearance",
    "Clinician's clearance for infusion",
    "https://propel.clinic/fhir/CodeSystem/clearance (Propel's own code system, docs/fhir.md)",
)

# --- Schedule and Slot (helper H4, scheduling.fhir.schedule_resources) ------------------------

# Propel's own code system for the clinic's appointment types (editable data: consultation,
# infusion visit...), by their `code`: Schedule.serviceType and Slot.serviceType. No public
# terminology names these visits; HL7's example service-type codes do not fit a ketamine clinic.
APPOINTMENT_TYPE_SYSTEM = f"{PROPEL_SYSTEM_BASE}/appointment-type"

SLOT_STATUS_SOURCE = "https://hl7.org/fhir/R4B/codesystem-slotstatus.xml.html"
# Slot.status is a required binding to http://hl7.org/fhir/ValueSet/slotstatus; Propel serves
# only free slots, but a search may name any of these (another is a 400).
SLOT_STATUSES = frozenset(
    {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"}
)

# --- SMART Backend Services (helper "smart": access, CapabilityStatement.rest.security) ---------

# CapabilityStatement.rest.security.service: "OAuth2 using SMART-on-FHIR profile".
RESTFUL_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
SMART_ON_FHIR = Code(
    RESTFUL_SECURITY_SERVICE,
    "SMART-on-FHIR",
    "SMART-on-FHIR",
    "https://hl7.org/fhir/R4/valueset-restful-security-service.html",
)
# The token endpoint in the CapabilityStatement, for clients that read it there (SMART App
# Launch 2 prefers .well-known/smart-configuration): HL7/smart-app-launch
# input/fsh/smart-extensions.fsh, Extension oauth-uris.
SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

# --- Paperwork (H3): Consent, DocumentReference, Binary -----------------------------------------

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_SCOPE_SOURCE = "https://build.fhir.org/ig/HL7/UTG/CodeSystem-consentscope.html"
# Consent.scope is a required binding with four codes (adr, research, patient-privacy,
# treatment); Propel's forms use two of them (docs/fhir.md, "Consent").
SCOPE_TREATMENT = Code(CONSENT_SCOPE, "treatment", "Treatment", CONSENT_SCOPE_SOURCE)
SCOPE_PRIVACY = Code(CONSENT_SCOPE, "patient-privacy", "Privacy Consent", CONSENT_SCOPE_SOURCE)

CONSENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
# "npp": acknowledgement of a custodian's notice of privacy practices (Propel's privacy form).
CATEGORY_NPP = Code(
    CONSENT_CATEGORY,
    "npp",
    "Notice of Privacy Practices",
    "https://github.com/HL7/UTG (input/sourceOfTruth/fhir/codeSystems/"
    "CodeSystem-consentcategorycodes.xml, concept npp 'Notice of Privacy Practices')",
)
# LOINC's own name is "Consent Document"; FHIR's consent-category value set shows it as
# "Patient Consent". Used as Consent.category and as the DocumentReference.type of a signed form.
CONSENT_DOCUMENT = Code(
    LOINC,
    "59284-0",
    "Consent Document",
    "https://build.fhir.org/ig/hl7ch/ch-core/ValueSet-ConsentCategoriesVS.html (expansion from "
    "tx.fhir.org, LOINC 2.82: 59284-0 'Consent Document'); FHIR R5's consent-category value "
    "set lists it as 'Patient Consent' (https://hl7.org/fhir/R5/valueset-consent-category.html)",
)
REFERRAL_NOTE = Code(
    LOINC,
    "57133-1",
    "Referral note",
    "https://hl7.org/fhir/us/ccda/STU1.2/ValueSet-2.16.840.1.113883.1.11.20.2.3.html "
    "(C-CDA on FHIR ReferralDocumentType: 57133-1 'Referral note')",
)
# Not confirmed, so not used: a LOINC document code for an insurance card, a photo ID or
# "medical records" as a whole. Those kinds carry Propel's document-kind code alone.

# Propel's own: the clinic's consent forms and the kinds of documents on file.
CONSENT_FORM_SYSTEM = f"{PROPEL_SYSTEM_BASE}/consent-form"
DOCUMENT_KIND_SYSTEM = f"{PROPEL_SYSTEM_BASE}/document-kind"
SIGNED_FORM_KIND = "signed_form"  # the PDF record Propel writes of every signature

LOINC_CODES = (*LOINC_CODES, CONSENT_DOCUMENT, REFERRAL_NOTE)

# --- Questionnaire (H2) -----------------------------------------------------------------------
# The LOINC codes of the instruments' Questionnaires and their answers. Item and answer codes were
# read in HL7's Person-Centered Outcomes IG (hl7.fhir.us.pco), whose Questionnaires are generated
# from LOINC's panels, and the answer list on LOINC's own page. Answer ids (LA...) carry no mod-10
# check digit, so they are kept in the tables below, not as module-level codes (test_codes checks
# those); tests/fhir/test_questionnaire_api.py checks these tables.

PCO_PHQ9 = (
    "https://github.com/HL7/pco-ig/blob/005ac9fa48831504cf17ff4cae3ef3ce2a9ef85f/"
    "Questionnaire-44249-1.json (HL7 PCO IG, http://hl7.org/fhir/us/pco/Questionnaire/44249-1)"
)
PCO_GAD7 = (
    "https://github.com/HL7/pco-ig/blob/005ac9fa48831504cf17ff4cae3ef3ce2a9ef85f/"
    "Questionnaire-69737-5.json (HL7 PCO IG, http://hl7.org/fhir/us/pco/Questionnaire/69737-5)"
)
LL358_3 = "https://loinc.org/LL358-3 (LOINC answer list: Not at all/Several days/More than half...)"

GAD7_PANEL = Code(LOINC, "69737-5", "Generalized anxiety disorder 7 item (GAD-7)", PCO_GAD7)
PAIN_NRS = Code(
    LOINC,
    "72514-3",
    "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    "https://github.com/hl7-be/patient-monitoring/blob/master/input/fsh/valuesets/ScalePain.fsh "
    "(HL7 Belgium: 'Pain severity - 0-10 verbal numeric rating ... See https://loinc.org/72514-3')",
)
LOINC_CODES = (*LOINC_CODES, GAD7_PANEL, PAIN_NRS)

# The Questionnaire's own code (Questionnaire.code), by Propel instrument id.
QUESTIONNAIRE_CODES: dict[str, Code] = {"phq9": PHQ9_PANEL, "gad7": GAD7_PANEL}


def _item(code: str, display: str, source: str) -> Code:
    return Code(LOINC, code, display, source)


# LOINC question codes by Propel item id (intake/data/instruments.json). Items not here have no
# confirmed LOINC code: they are coded in Propel's own system (docs/fhir.md lists them).
QUESTIONNAIRE_ITEM_CODES: dict[str, Code] = {
    "phq9_1": _item("44250-9", "Little interest or pleasure in doing things", PCO_PHQ9),
    "phq9_2": _item("44255-8", "Feeling down, depressed, or hopeless", PCO_PHQ9),
    "phq9_3": _item("44259-0", "Trouble falling or staying asleep, or sleeping too much", PCO_PHQ9),
    "phq9_4": _item("44254-1", "Feeling tired or having little energy", PCO_PHQ9),
    "phq9_5": _item("44251-7", "Poor appetite or overeating", PCO_PHQ9),
    "phq9_6": _item(
        "44258-2",
        "Feeling bad about yourself-or that you are a failure or have let yourself or your "
        "family down",
        PCO_PHQ9,
    ),
    "phq9_7": _item(
        "44252-5",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        PCO_PHQ9,
    ),
    "phq9_8": _item(
        "44253-3",
        "Moving or speaking so slowly that other people could have noticed. Or the opposite-"
        "being so fidgety or restless that you have been moving around a lot more than usual",
        PCO_PHQ9,
    ),
    "phq9_9": _item(
        "44260-8",
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
        PCO_PHQ9,
    ),
    "phq9_difficulty": _item(
        "69722-7",
        "How difficult have these problems made it for you to do your work, take care of "
        "things at home, or get along with other people?",
        PCO_PHQ9,
    ),
    "gad7_1": _item("69725-0", "Feeling nervous, anxious or on edge", PCO_GAD7),
    "gad7_2": _item(
        "68509-9",
        "Over the past 2 weeks have you not been able to stop or control worrying",
        PCO_GAD7,
    ),
    "gad7_3": _item("69733-4", "Worrying too much about different things", PCO_GAD7),
    "gad7_4": _item("69734-2", "Trouble relaxing", PCO_GAD7),
    "gad7_5": _item("69735-9", "Being so restless that it is hard to sit still", PCO_GAD7),
    "gad7_6": _item("69689-8", "Becoming easily annoyed or irritable.", PCO_GAD7),
    "gad7_7": _item("69736-7", "Feeling afraid as if something awful might happen", PCO_GAD7),
    "nrs_now": PAIN_NRS,
}

# The totals as Questionnaire items (the score Observations' codes).
QUESTIONNAIRE_TOTAL_CODES: dict[str, Code] = {"phq9": PHQ9_TOTAL, "gad7": GAD7_TOTAL}

# LOINC answers by option value.
FREQUENCY_ANSWERS: dict[int, Code] = {
    0: Code(LOINC, "LA6568-5", "Not at all", LL358_3),
    1: Code(LOINC, "LA6569-3", "Several days", LL358_3),
    2: Code(LOINC, "LA6570-1", "More than half the days", LL358_3),
    3: Code(LOINC, "LA6571-9", "Nearly every day", LL358_3),
}
DIFFICULTY_ANSWERS: dict[int, Code] = {
    0: Code(LOINC, "LA6572-7", "Not difficult at all", PCO_PHQ9),
    1: Code(LOINC, "LA6573-5", "Somewhat difficult", PCO_PHQ9),
    2: Code(LOINC, "LA6575-0", "Very difficult", PCO_PHQ9),
    3: Code(LOINC, "LA6574-3", "Extremely difficult", PCO_PHQ9),
}
# LOINC answers by Propel item id. The GAD-7 difficulty item has no confirmed LOINC question code,
# but its four answers are the same LOINC answers as the PHQ-9's (same wording, same values).
# GAD-7 item 2 (68509-9): LOINC's own list for it says "More days than not" (LA18938-3) at 2; the
# patient saw "More than half the days", so that answer (LA6570-1) is sent (docs/fhir.md).
QUESTIONNAIRE_ANSWER_CODES: dict[str, dict[int, Code]] = {
    **{f"phq9_{n}": FREQUENCY_ANSWERS for n in range(1, 10)},
    **{f"gad7_{n}": FREQUENCY_ANSWERS for n in range(1, 8)},
    "phq9_difficulty": DIFFICULTY_ANSWERS,
    "gad7_difficulty": DIFFICULTY_ANSWERS,
}

# What has no confirmed code is coded in Propel's own system for its instrument,
# f"{PROPEL_SYSTEM_BASE}/<instrument id>" (question codes: the item ids; answer codes: the option
# values). The Questionnaires' canonical urls live under this base.
QUESTIONNAIRE_URL_BASE = "https://propel.clinic/fhir/Questionnaire"
