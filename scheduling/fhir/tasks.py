"""Celery tasks of the FHIR bulk export (thin: ids in, scheduling.fhir.export called)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="scheduling.fhir.tasks.fhir_export_run", ignore_result=True, acks_late=True)
def fhir_export_run(job_id: int) -> None:
    """Run one export job. Idempotent: a redelivered task claims the job again and restarts it
    cleanly (the earlier attempt stops at its next batch); a finished or cancelled job is left."""
    from scheduling.fhir.export import export_run

    export_run(job_id=job_id)


@shared_task(name="scheduling.fhir.tasks.fhir_exports_sweep", ignore_result=True)
def fhir_exports_sweep() -> None:
    """Beat, every five minutes: expire exports past FHIR_EXPORT_TTL_HOURS (files deleted) and
    queue again the jobs whose task never ran."""
    from scheduling.fhir.export import exports_sweep

    exports_sweep()
