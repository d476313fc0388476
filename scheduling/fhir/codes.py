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
