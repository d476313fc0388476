"""FHIR Bulk Data export (issue 23, item 3; Bulk Data Access IG v2,
https://hl7.org/fhir/uv/bulkdata/STU2/export.html): kick-off, the run, cancel and expiry.

- `kickoff_parse` checks a kick-off's parameters against the registry and the client's scopes
  (every problem a FhirError; with `Prefer: handling=lenient` an unsupported parameter or type
  is dropped and reported in the manifest's error file instead).
- `export_start` creates the job (at most FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT running per client,
  checked under a lock on the client's row) and queues `fhir_export_run` after commit.
- `export_run` is the task's body: it claims the job (a new `attempt`), writes each type's
  NDJSON files through Kind.export a batch at a time, records progress after every batch and
  stops as soon as the job is no longer its own (cancelled, expired, or claimed again by a
  redelivered task). Rerunning it restarts the job cleanly.
- `export_cancel` (DELETE and the admin's action) and `exports_sweep` (beat: expiry after
  FHIR_EXPORT_TTL_HOURS, and jobs whose task never ran) delete the files.

Files go to the private documents store (intake.paperwork_models.documents_storage: the file
system in the demo, the encrypted S3 bucket in production) under `fhir-exports/<job id>/`, and
are only ever served through the audited file endpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from fhir.resources.R4B.operationoutcome import OperationOutcome

from intake.models import Patient
from intake.paperwork_models import documents_storage
from propel.audit import audit_record
from propel.tasks_queue import enqueue_on_commit
from scheduling.fhir import access
from scheduling.fhir.errors import FhirError, bad_request
from scheduling.fhir.kinds import EXPORT_BATCH, Kind
from scheduling.fhir.registry import REGISTRY
from scheduling.models import (
    ACTIVE_EXPORT_STATUSES,
    ExportFile,
    ExportFileKind,
    ExportJob,
    ExportLevel,
    ExportStatus,
    FhirClient,
)

logger = logging.getLogger(__name__)

NDJSON = "application/fhir+ndjson"
# The IG: the full type and its two short forms SHALL be accepted.
OUTPUT_FORMATS = (NDJSON, "application/ndjson", "ndjson")
SERVED_PARAMETERS = ("_outputFormat", "_since", "_type")
# The IG's optional kick-off parameters this server does not serve: a 400 naming them (a client
# filtering on one would otherwise get more than it asked for), dropped under handling=lenient.
UNSERVED_PARAMETERS = (
    "_typeFilter",
    "_elements",
    "_until",
    "patient",
    "includeAssociatedData",
    "organizeOutputBy",
    "allowPartialManifests",
)
RUN_TASK = "scheduling.fhir.tasks.fhir_export_run"
STORE_PREFIX = "fhir-exports"
RETRY_AFTER_SECONDS = 5  # the status's advice while a job runs
# The sweep queues again a job whose task never started (a broker outage at kick-off), and one
# whose run has recorded no progress for an hour (its worker died and no redelivery came).
QUEUED_GRACE = dt.timedelta(minutes=10)
STALLED_AFTER = dt.timedelta(hours=1)
# A FHIR instant: seconds and a zone are required.
_INSTANT = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass(frozen=True)
class KickOff:
    level: str
    types: list[str]
    since: dt.datetime | None
    output_format: str
    warnings: list[str] = field(default_factory=list)


def parse_instant(name: str, value: str) -> dt.datetime:
    """A FHIR instant (2026-12-01T09:00:00Z, 2026-12-01T09:00:00.123-08:00); a bad one is a 400.
    A space where the zone's "+" should be is read as "+" (an unencoded "+" in a URL)."""
    match = _INSTANT.match(value.strip().replace(" ", "+"))
    if match is None:
        raise bad_request(
            f"{name}: '{value[:40]}' is not a FHIR instant (e.g. 2026-12-01T09:00:00Z)"
        )
    seconds, fraction, zone = match.groups()
    text = seconds + (fraction[:7] if fraction else "") + ("+00:00" if zone == "Z" else zone)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name}: '{value[:40]}' is not a valid instant") from None


def _once(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise bad_request(f"{name}: give it once")
    return values[0]


def _listable(kind: Kind) -> bool:
    """A type read by id only (Binary) is not exported: nothing lists it, and its files are
    what the exported DocumentReferences' attachment URLs give."""
    return "search-type" in kind.interactions


def _eligible(kind: Kind, level: str) -> bool:
    return _listable(kind) and (level == ExportLevel.SYSTEM or kind.in_patient_compartment)


def kickoff_parse(
    *,
    client: FhirClient,
    level: str,
    query: dict[str, list[str]],
    lenient: bool = False,
    now: dt.datetime | None = None,
) -> KickOff:
    """The export a kick-off asks for, or a FhirError: 400 for a malformed or unserved parameter
    or type (a patient-level export of a type outside the Patient compartment included), 403 for
    a type the client has no scope for. Under `lenient`, what can be dropped is dropped, with a
    warning for the manifest's error file; a malformed _since never is."""
    now = now or timezone.now()
    warnings: list[str] = []

    def problem(error: FhirError) -> None:
        if not lenient:
            raise error
        warnings.append(error.diagnostics)

    for name in query:
        if name in SERVED_PARAMETERS:
            continue
        if name in UNSERVED_PARAMETERS:
            problem(bad_request(f"the parameter {name} is not supported by this server"))
        else:
            problem(bad_request(f"'{name[:40]}' is not a parameter of $export"))

    output_format = NDJSON
    if "_outputFormat" in query:
        # An unencoded "+" arrives as a space.
        value = _once("_outputFormat", query["_outputFormat"]).strip().replace(" ", "+")
        if value not in OUTPUT_FORMATS:
            problem(
                bad_request(
                    f"_outputFormat: '{value[:40]}' is not served (application/fhir+ndjson)"
                )
            )

    since = None
    if "_since" in query:
        since = parse_instant("_since", _once("_since", query["_since"]))
        if since > now:
            raise bad_request("_since: the instant is in the future")

    types: list[str] = []
    if "_type" in query:
        requested = [t.strip() for value in query["_type"] for t in value.split(",")]
        if not any(requested):
            raise bad_request("_type: name at least one resource type")
        for resource_type in dict.fromkeys(t for t in requested if t):
            kind = REGISTRY.get(resource_type)
            if kind is None:
                problem(bad_request(f"_type: '{resource_type[:40]}' is not a type served here"))
            elif not _listable(kind):
                problem(
                    bad_request(
                        f"_type: {resource_type} is read by id only and not exported (its files "
                        "are at the exported DocumentReferences' attachment URLs)"
                    )
                )
            elif not _eligible(kind, level):
                problem(
                    bad_request(
                        f"_type: {resource_type} is outside the Patient compartment "
                        "(use the system-level $export)"
                    )
                )
            elif not access.allowed(client, resource_type):
                problem(
                    FhirError(
                        403,
                        "forbidden",
                        f"the client has no scope {access.scope_for(resource_type)}",
                    )
                )
            else:
                types.append(resource_type)
    else:
        types = [
            t
            for t, kind in REGISTRY.items()
            if _eligible(kind, level) and access.allowed(client, t)
        ]
        if not types:
            raise FhirError(403, "forbidden", "the client has no scope for any exported type")
    if not types:
        raise bad_request("nothing to export: every type asked for was dropped")
    return KickOff(level, types, since, output_format, warnings)


def export_start(
    *, client: FhirClient, kickoff: KickOff, request_url: str, now: dt.datetime | None = None
) -> ExportJob:
    """Create the job and queue its run after commit. The client's row is locked while its
    running jobs are counted, so two kick-offs at once cannot both take the last place: past
    FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT the answer is a 429 with Retry-After (the IG's advice)."""
    now = now or timezone.now()
    with transaction.atomic():
        FhirClient.objects.select_for_update().filter(pk=client.pk).first()
        active = ExportJob.objects.filter(client=client, status__in=ACTIVE_EXPORT_STATUSES)
        if active.count() >= settings.FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT:
            raise FhirError(
                429,
                "throttled",
                f"at most {settings.FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT} exports at once: wait "
                "for one to finish or cancel it (DELETE its status URL)",
                {"Retry-After": "60"},
            )
        job = ExportJob.objects.create(
            public_id=secrets.token_hex(16),
            client=client,
            level=kickoff.level,
            types=kickoff.types,
            since=kickoff.since,
            output_format=kickoff.output_format,
            request_url=request_url[:2000],
            warnings=kickoff.warnings,
            created_at=now,
            expires_at=now + _ttl(),
        )
        enqueue_on_commit(RUN_TASK, job.pk)
    return job


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.FHIR_EXPORT_TTL_HOURS)


def is_expired(job: ExportJob, now: dt.datetime | None = None) -> bool:
    """Gone for the client: marked expired, or past its life and not swept yet."""
    now = now or timezone.now()
    return job.status == ExportStatus.EXPIRED or job.expires_at <= now


def _delete_files(files: Iterable[ExportFile]) -> None:
    store = documents_storage()
    for row in list(files):
        store.delete(row.storage_key)
        row.delete()


def export_cancel(*, job: ExportJob) -> bool:
    """Cancel a job (DELETE of its status URL, the admin's action): a queued or running job stops
    (its run notices at its next batch), a finished one's files are deleted now. False when the
    job was already cancelled or expired."""
    cancellable = (*ACTIVE_EXPORT_STATUSES, ExportStatus.COMPLETED, ExportStatus.FAILED)
    done = ExportJob.objects.filter(pk=job.pk, status__in=cancellable).update(
        status=ExportStatus.CANCELLED, finished_at=timezone.now()
    )
    if done:
        _delete_files(job.files.all())
        job.refresh_from_db()
    return bool(done)


class _Stopped(Exception):
    """The job is no longer this run's (cancelled, expired, or claimed by a newer attempt)."""


class _Run:
    """One attempt at a job: writes its files and records its progress, guarded by `attempt`."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        self.written: list[ExportFile] = []
        self.limit = settings.FHIR_EXPORT_FILE_RESOURCES
        self.store = documents_storage()

    def mine(self) -> QuerySet[ExportJob]:
        return ExportJob.objects.filter(
            pk=self.job.pk, attempt=self.job.attempt, status=ExportStatus.RUNNING
        )

    def progress(self, **changes: Any) -> None:
        if not self.mine().update(progress_at=timezone.now(), **changes):
            raise _Stopped

    def save_file(
        self,
        *,
        kind: str,
        resource_type: str,
        handle: IO[bytes],
        count: int,
        size: int,
        digest: str,
        patient_ids: Iterable[int],
    ) -> ExportFile:
        number = 1 + sum(1 for row in self.written if row.resource_type == resource_type)
        name = f"{resource_type}-{number}-{secrets.token_hex(8)}.ndjson"
        handle.seek(0)
        key = self.store.save(f"{STORE_PREFIX}/{self.job.public_id}/{name}", File(handle))
        row = ExportFile.objects.create(
            job=self.job,
            kind=kind,
            resource_type=resource_type,
            name=name,
            count=count,
            size=size,
            sha256=digest,
            storage_key=key,
            patient_ids=sorted(set(patient_ids)),
        )
        self.written.append(row)
        return row

    def export_type(self, resource_type: str, patient_pks: list[int] | None) -> None:
        """Every resource of one type, one JSON object a line, a new file once one holds
        FHIR_EXPORT_FILE_RESOURCES (closed at a batch's end, so exact for the patients)."""
        kind = REGISTRY[resource_type]
        batches = iter(
            kind.export(
                since=self.job.since,
                patient_pks=patient_pks,
                batch=min(EXPORT_BATCH, self.limit),
            )
        )
        found = next(batches, None)
        while found is not None:
            with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as handle:
                count = size = 0
                digest = hashlib.sha256()
                patients: set[int] = set()
                while found is not None and count < self.limit:
                    for resource in found.resources:
                        data = (
                            json.dumps(resource, separators=(",", ":"), ensure_ascii=False) + "\n"
                        ).encode()
                        handle.write(data)
                        digest.update(data)
                        size += len(data)
                    count += len(found.resources)
                    patients.update(found.patient_ids)
                    self.progress(resources_written=F("resources_written") + len(found.resources))
                    found = next(batches, None)
                if count:
                    self.save_file(
                        kind=ExportFileKind.OUTPUT,
                        resource_type=resource_type,
                        handle=handle,
                        count=count,
                        size=size,
                        digest=digest.hexdigest(),
                        patient_ids=patients,
                    )

    def write_outcomes(self, outcomes: list[dict[str, Any]]) -> None:
        data = b"".join((json.dumps(o, separators=(",", ":")) + "\n").encode() for o in outcomes)
        with tempfile.SpooledTemporaryFile() as handle:
            handle.write(data)
            self.save_file(
                kind=ExportFileKind.ERROR,
                resource_type="OperationOutcome",
                handle=handle,
                count=len(outcomes),
                size=len(data),
                digest=hashlib.sha256(data).hexdigest(),
                patient_ids=[],
            )

    def discard(self, rows: list[ExportFile] | None = None) -> None:
        _delete_files(self.written if rows is None else rows)


def outcome(severity: str, code: str, diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome (a line of an error file, the body of a 202), validated by the R4B
    model."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
    OperationOutcome.model_validate(body)
    return body


def export_run(*, job_id: int) -> None:
    """The run of one job (the task `fhir_export_run`): see the module's docstring. A type whose
    export raises is left out with an error OperationOutcome in the manifest (the IG's partial
    success); when every type fails the job is failed. Either way the exception is logged."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status__in=ACTIVE_EXPORT_STATUSES).update(
        status=ExportStatus.RUNNING,
        attempt=F("attempt") + 1,
        started_at=now,
        progress_at=now,
        transaction_time=now,
        types_done=0,
        resources_written=0,
        error="",
    )
    if not claimed:
        return  # cancelled, expired or finished: nothing to do
    job = ExportJob.objects.select_related("client").get(pk=job_id)
    # A previous attempt's files (its worker died): this run writes them all again.
    _delete_files(job.files.all())
    run = _Run(job)
    patient_pks = (
        list(Patient.objects.order_by("pk").values_list("pk", flat=True))
        if job.level == ExportLevel.PATIENT
        else None
    )
    outcomes = [outcome("warning", "not-supported", text) for text in job.warnings]
    failed: list[str] = []
    try:
        for resource_type in job.types:
            before = len(run.written)
            try:
                run.export_type(resource_type, patient_pks)
            except _Stopped:
                raise
            except Exception:
                logger.exception("FHIR export %s: %s failed", job.public_id, resource_type)
                run.discard(run.written[before:])
                del run.written[before:]
                failed.append(resource_type)
                outcomes.append(
                    outcome(
                        "error",
                        "exception",
                        f"{resource_type} could not be exported (an internal error, logged "
                        f"under export {job.public_id}); the other types were",
                    )
                )
            run.progress(types_done=F("types_done") + 1)
        if len(failed) == len(job.types):
            run.discard()
            finished = timezone.now()
            run.mine().update(
                status=ExportStatus.FAILED,
                error="every type failed to export (see the worker's log)",
                finished_at=finished,
                expires_at=finished + _ttl(),
            )
            return
        if outcomes:
            run.write_outcomes(outcomes)
        finished = timezone.now()
        done = run.mine().update(
            status=ExportStatus.COMPLETED,
            finished_at=finished,
            expires_at=finished + _ttl(),
            error=f"not exported: {', '.join(failed)}" if failed else "",
        )
        if not done:
            raise _Stopped
    except _Stopped:
        run.discard()
        return
    except Exception:
        run.discard()
        finished = timezone.now()
        run.mine().update(
            status=ExportStatus.FAILED,
            error="the export failed (an internal error; see the worker's log)",
            finished_at=finished,
            expires_at=finished + _ttl(),
        )
        raise
    job.refresh_from_db()
    audit_record(
        action="fhir.export_run",
        actor_label=f"fhir:{job.client.client_id}",
        obj=job,
        detail={
            "client": job.client.client_id,
            "export": job.public_id,
            "types": job.types,
            "resources": job.resources_written,
            "files": len(run.written),
        },
    )


def exports_sweep(*, now: dt.datetime | None = None) -> int:
    """Beat: expire jobs past their life (files deleted, status expired) and queue again the
    jobs whose task never ran or stalled. Returns the number of jobs expired."""
    now = now or timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(
        status__in=(ExportStatus.EXPIRED, ExportStatus.CANCELLED)
    ):
        if ExportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=ExportStatus.EXPIRED
        ):
            _delete_files(job.files.all())
            expired += 1
    stuck = ExportJob.objects.filter(
        status=ExportStatus.QUEUED, created_at__lte=now - QUEUED_GRACE
    ) | ExportJob.objects.filter(status=ExportStatus.RUNNING, progress_at__lte=now - STALLED_AFTER)
    for pk in stuck.values_list("pk", flat=True):
        enqueue_on_commit(RUN_TASK, pk)
    return expired


def job_for_client(client: FhirClient, public_id: str) -> ExportJob:
    """The client's own job (another client's, or a made-up id, is the same 404)."""
    job = ExportJob.objects.filter(client=client, public_id=public_id).first()
    if job is None:
        raise FhirError(404, "not-found", "no export with this id for this client")
    return job


def job_gone(job: ExportJob) -> FhirError | None:
    """The 404 for a job the client can no longer see (cancelled, expired), or None."""
    if job.status == ExportStatus.CANCELLED:
        return FhirError(404, "not-found", "this export was cancelled; its files are deleted")
    if is_expired(job):
        return FhirError(
            404,
            "not-found",
            f"this export expired at {job.expires_at.isoformat()} and its files are deleted "
            f"(they live {settings.FHIR_EXPORT_TTL_HOURS} hours after the export completes): "
            "start a new export",
        )
    return None
