"""FHIR R4 (R4B models of fhir.resources) for the clinic's EHR: resources built from Propel's
data, the read API under /fhir/R4/ and its access control (issue 23). See docs/fhir.md."""
