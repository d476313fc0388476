"""The FHIR Bulk Data export's endpoints (issue 23, item 3; scheduling.fhir.export does the work):

- `GET /fhir/R4/$export` and `GET /fhir/R4/Patient/$export`: kick-off, 202 + Content-Location;
- `GET /fhir/R4/$export-status/<job>`: 202 + X-Progress + Retry-After while it runs, 200 + the
  manifest once complete, 500 OperationOutcome if it failed; `DELETE` cancels (202);
- `GET /fhir/R4/$export-file/<job>/<file>`: one NDJSON file, streamed.

Each answers only the client that kicked the job off (anyone else's job is a 404), and each call
is audited by views.fhir_endpoint (a download with the patients its file carries).
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import http_date

from intake.paperwork_models import documents_storage
from scheduling.fhir import export
from scheduling.fhir.errors import FhirError, fhir_response
from scheduling.fhir.views import fhir_endpoint, query_params
from scheduling.models import (
    ExportFile,
    ExportFileKind,
    ExportJob,
    ExportLevel,
    ExportStatus,
    FhirClient,
)

NDJSON_ACCEPTS = (export.NDJSON, "application/ndjson", "application/*", "*/*")
MANIFEST_JSON = "application/json"


def _information(text: str) -> dict[str, Any]:
    return export.outcome("information", "informational", text)


def _prefer(request: HttpRequest) -> set[str]:
    return {
        token.strip().lower().replace(" ", "")
        for token in request.headers.get("Prefer", "").split(",")
        if token.strip()
    }


def _kick_off(request: HttpRequest, client: FhirClient | None, level: str) -> HttpResponse:
    assert client is not None  # not a public endpoint
    if request.method != "GET":  # HEAD, which fhir_endpoint lets through, must not start one
        raise FhirError(405, "not-supported", "kick off with GET", {"Allow": "GET"})
    # The IG lets a server treat a kick-off without Prefer: respond-async as if it had it; this
    # one does (every export is asynchronous).
    lenient = "handling=lenient" in _prefer(request)
    kickoff = export.kickoff_parse(
        client=client, level=level, query=query_params(request), lenient=lenient
    )
    job = export.export_start(
        client=client, kickoff=kickoff, request_url=request.build_absolute_uri()
    )
    response = fhir_response(
        _information(f"export {job.public_id} queued: poll the Content-Location"), 202
    )
    response["Content-Location"] = request.build_absolute_uri(
        reverse("fhir:export_status", args=[job.public_id])
    )
    return response


@fhir_endpoint("export")
def system_export(
    request: HttpRequest, client: FhirClient | None
) -> tuple[HttpResponse, list[int]]:
    return _kick_off(request, client, ExportLevel.SYSTEM), []


@fhir_endpoint("export")
def patient_export(
    request: HttpRequest, client: FhirClient | None
) -> tuple[HttpResponse, list[int]]:
    return _kick_off(request, client, ExportLevel.PATIENT), []


def _file_item(request: HttpRequest, job: ExportJob, row: ExportFile) -> dict[str, Any]:
    url = reverse("fhir:export_file", args=[job.public_id, row.name])
    return {"type": row.resource_type, "url": request.build_absolute_uri(url), "count": row.count}


def manifest(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    """The IG's complete-status body."""
    files = list(job.files.all())
    assert job.transaction_time is not None
    return {
        "transactionTime": job.transaction_time.isoformat(),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            _file_item(request, job, row) for row in files if row.kind == ExportFileKind.OUTPUT
        ],
        "error": [
            _file_item(request, job, row) for row in files if row.kind == ExportFileKind.ERROR
        ],
    }


def _visible_job(client: FhirClient | None, job_id: str) -> ExportJob:
    assert client is not None
    job = export.job_for_client(client, job_id)
    gone = export.job_gone(job)
    if gone is not None:
        raise gone
    return job


@fhir_endpoint("export-status", methods=("GET", "DELETE"))
def export_status(
    request: HttpRequest, client: FhirClient | None, *, job_id: str
) -> tuple[HttpResponse, list[int]]:
    job = _visible_job(client, job_id)
    if request.method == "DELETE":
        if not export.export_cancel(job=job):
            raise FhirError(404, "not-found", "this export is already cancelled or expired")
        return fhir_response(_information("export cancelled; its files are deleted"), 202), []
    if job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        response = fhir_response(_information(f"{job.get_status_display()}: {job.progress}"), 202)
        response["X-Progress"] = f"{job.get_status_display()}: {job.progress}"[:99]
        response["Retry-After"] = str(export.RETRY_AFTER_SECONDS)
        return response, []
    if job.status == ExportStatus.FAILED:
        raise FhirError(500, "processing", job.error or "the export failed")
    response = fhir_response(manifest(request, job))
    response["Content-Type"] = MANIFEST_JSON
    response["Expires"] = http_date(job.expires_at.timestamp())
    return response, []


@fhir_endpoint("export-file", accepts=NDJSON_ACCEPTS)
def export_file(
    request: HttpRequest, client: FhirClient | None, *, job_id: str, file_name: str
) -> tuple[HttpResponseBase, list[int]]:
    job = _visible_job(client, job_id)
    if job.status != ExportStatus.COMPLETED:
        raise FhirError(404, "not-found", "this export has no files to download yet")
    row = job.files.filter(name=file_name).first()
    if row is None:
        raise FhirError(404, "not-found", "this export has no file of this name")
    response = FileResponse(
        documents_storage().open(row.storage_key, "rb"), content_type=export.NDJSON
    )
    response["Content-Length"] = str(row.size)
    response["Expires"] = http_date(job.expires_at.timestamp())
    return response, list(row.patient_ids)
