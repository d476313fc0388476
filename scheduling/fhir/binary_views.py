"""GET /fhir/R4/Binary/<id>: a stored file, as FHIR serves a Binary (docs/fhir.md, "Binary").

Asked for a FHIR format (Accept application/fhir+json or application/json, or _format=json), the
answer is the Binary resource (contentType, data in base64) through the ordinary read
(views.read). Otherwise, FHIR's rule for Binary: the file itself in its own content type, when
the Accept header allows it (none, */*, the type or its family), else a 406. The same client
credentials, rate limit, scope (system/Binary.read), audit row naming the patient and
OperationOutcome errors as every other read; never cached (no-store).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt

from scheduling.fhir import access, views
from scheduling.fhir.errors import FhirError, error_response, not_found
from scheduling.fhir.kinds_paperwork import BINARY
from scheduling.fhir.paperwork_resources import stored_file

RESOURCE_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
NO_STORE = "no-store, private"


def wants_resource(request: HttpRequest) -> bool:
    """Whether the client asked for the Binary resource rather than the file."""
    if any(value in views.JSON_FORMATS for value in request.GET.getlist("_format")):
        return True
    return any(kind in RESOURCE_TYPES for kind in views.accepted_types(request))


def accepts_file(request: HttpRequest, content_type: str) -> bool:
    kinds = views.accepted_types(request)
    family = content_type.split("/")[0] + "/*"
    return not kinds or any(kind in ("*/*", family, content_type) for kind in kinds)


def _file_response(request: HttpRequest, fhir_id: str) -> tuple[HttpResponse, list[int]]:
    row = BINARY.row(fhir_id)
    if row is None:
        raise not_found(f"no Binary with the id '{fhir_id[:64]}'")
    found = stored_file(row)
    if not accepts_file(request, found.content_type):
        raise FhirError(
            406,
            "not-supported",
            f"this Binary is {found.content_type}; ask for it, */* or application/fhir+json",
        )
    response = HttpResponse(found.data, content_type=found.content_type)
    extension = found.content_type.rpartition("/")[2].replace("jpeg", "jpg")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{fhir_id}.{extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response, [found.patient_id]


@csrf_exempt
def binary(request: HttpRequest, fhir_id: str) -> HttpResponseBase:
    if wants_resource(request):
        response = views.read(request, resource_type="Binary", fhir_id=fhir_id)
        response["Cache-Control"] = NO_STORE
        return response
    client = None
    patient_ids: list[int] = []
    try:
        if request.method not in ("GET", "HEAD"):
            raise FhirError(
                405, "not-supported", f"{request.method} is not supported here", {"Allow": "GET"}
            )
        client = views._authorize(request)
        if not access.allowed(client, BINARY.type):
            raise FhirError(
                403, "forbidden", f"the client has no scope {access.scope_for(BINARY.type)}"
            )
        response, patient_ids = _file_response(request, fhir_id)
    except FhirError as error:
        response = error_response(error)
    if client is not None:
        views._audit(
            request,
            client,
            interaction="read",
            status=response.status_code,
            patient_ids=patient_ids,
        )
    response["Cache-Control"] = NO_STORE
    return response
