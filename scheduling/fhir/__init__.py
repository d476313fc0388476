"""FHIR R4 for the hand-off to the clinic's EHR (issue 23): ids, codes and resource builders. The
models are fhir.resources' R4B package (R4B is the R4 line; docs/fhir.md)."""
