"""The FHIR Bulk Data export (issue 23, item 3): kick-off, status, run, manifest, NDJSON files,
_type and _since, the patient level, file splitting, reruns, partial failure, cancel, expiry,
the CapabilityStatement and the admin."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from intake.paperwork_models import documents_storage
from propel.models import AuditEvent
from scheduling.fhir import export
from scheduling.fhir.ids import fhir_id
from scheduling.fhir.registry import REGISTRY
from scheduling.fhir.tasks import fhir_export_run, fhir_exports_sweep
from scheduling.fhir.views import EXPORT_DEFINITION, PATIENT_EXPORT_DEFINITION
from scheduling.models import ExportFile, ExportJob, ExportStatus
from tests.factories import AppointmentFactory, ClinicianFactory, PatientFactory
from tests.fhir.bulk_support import (
    BASE,
    export_done,
    job_of,
    kick_off,
    lines_of,
    poll,
    queued_tasks,
    run,
    status_path,
)
from tests.fhir.support import api_client, basic, validated

pytestmark = pytest.mark.django_db

DEC_1 = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)

# The tests of the export's mechanism (progress, reruns, a failing type, the audit) ask for these
# two types, so they hold whatever other types the registry serves; the tests of the whole (the
# default type set, the patient level, _since, the demo) derive theirs from REGISTRY.
TWO_TYPES = "_type=Patient,Appointment"
# The types about a patient: a patient-level export writes these and only these.
# Every type that can be listed is exported; Binary (read by id only) is not: its files are at
# the exported DocumentReferences' attachment URLs.
EXPORTABLE = [t for t, kind in REGISTRY.items() if "search-type" in kind.interactions]
COMPARTMENT = [t for t in EXPORTABLE if REGISTRY[t].in_patient_compartment]
# Outside the Patient compartment: the clinic's reference data (practitioners, the clinic,
# rooms, questionnaires, schedules, free slots).
REFERENCE = [t for t in EXPORTABLE if t not in COMPARTMENT]


def by_type(manifest: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for item in manifest["output"]:
        found.setdefault(item["type"], []).append(item)
    return found


def test_kick_off_poll_run_and_download_every_file(client, django_capture_on_commit_callbacks):
    new = api_client()
    appointments = [AppointmentFactory(start=DEC_1 + dt.timedelta(days=i)) for i in range(3)]
    PatientFactory()  # a patient with no appointment
    with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
        response = kick_off(client, new, TWO_TYPES)
        assert response.status_code == 202
        assert validated(response.json())["resourceType"] == "OperationOutcome"
        location = response["Content-Location"]
        assert location.startswith("http://testserver/fhir/R4/$export-status/")
        waiting = poll(client, new, status_path(response))
        assert waiting.status_code == 202
        assert waiting["X-Progress"] == "Queued: 0/2 types, 0 resources"
        assert len(waiting["X-Progress"]) < 100
        assert int(waiting["Retry-After"]) > 0
    run(callbacks)

    done = poll(client, new, status_path(response))
    assert done.status_code == 200
    assert done["Content-Type"] == "application/json"
    job = job_of(response)
    assert done["Expires"]
    manifest = done.json()
    assert manifest["transactionTime"] == job.transaction_time.isoformat()
    assert manifest["request"] == f"http://testserver/fhir/R4/$export?{TWO_TYPES}"
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    files = by_type(manifest)
    assert set(files) == {"Patient", "Appointment"}
    patients = lines_of(client, new, files["Patient"][0]["url"])
    assert files["Patient"][0]["count"] == len(patients) == 4
    assert {p["id"] for p in patients} >= {fhir_id("Patient", a.patient_id) for a in appointments}
    booked = lines_of(client, new, files["Appointment"][0]["url"])
    assert sorted(a["id"] for a in booked) == sorted(
        fhir_id("Appointment", a.pk) for a in appointments
    )
    assert (job.status, job.types_done, job.resources_written) == ("completed", 2, 7)


def test_every_call_is_audited_and_a_download_names_the_patients_in_its_file(
    client, django_capture_on_commit_callbacks
):
    new = api_client()
    appointment = AppointmentFactory()
    manifest = export_done(
        client, new, "_type=Appointment", capture=django_capture_on_commit_callbacks
    )
    lines_of(client, new, manifest["output"][0]["url"])
    actions = list(
        AuditEvent.objects.filter(actor_label=f"fhir:{new.client.client_id}")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["fhir.export", "fhir.export_run", "fhir.export-status", "fhir.export-file"]
    download = AuditEvent.objects.get(action="fhir.export-file")
    assert download.patient_id == appointment.patient_id
    assert download.detail["patient_ids"] == [appointment.patient_id]
    assert download.detail["status"] == 200


def test_type_limits_the_export_and_may_be_repeated(client, django_capture_on_commit_callbacks):
    new = api_client()
    AppointmentFactory()
    only = export_done(client, new, "_type=Appointment", capture=django_capture_on_commit_callbacks)
    assert set(by_type(only)) == {"Appointment"}
    both = export_done(
        client, new, "_type=Appointment&_type=Patient", capture=django_capture_on_commit_callbacks
    )
    assert set(by_type(both)) == {"Appointment", "Patient"}


def test_since_exports_only_what_changed_after_it(client, django_capture_on_commit_callbacks):
    new = api_client()
    with time_machine.travel(DEC_1, tick=False):
        old = PatientFactory()
    with time_machine.travel(DEC_1 + dt.timedelta(days=2), tick=False):
        recent = PatientFactory()
    since = (DEC_1 + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = export_done(
        client, new, f"_type=Patient&_since={since}", capture=django_capture_on_commit_callbacks
    )
    ids = [p["id"] for p in lines_of(client, new, manifest["output"][0]["url"])]
    assert ids == [fhir_id("Patient", recent.pk)]
    assert fhir_id("Patient", old.pk) not in ids
    job = ExportJob.objects.get()
    assert job.since == DEC_1 + dt.timedelta(days=1)


def test_since_with_nothing_newer_gives_an_empty_output(client, django_capture_on_commit_callbacks):
    new = api_client()
    with time_machine.travel(DEC_1, tick=False):
        AppointmentFactory()
    since = "_since=2026-12-02T00:00:00%2B00:00"
    manifest = export_done(
        client,
        new,
        f"{since}&_type={','.join(COMPARTMENT)}",
        capture=django_capture_on_commit_callbacks,
    )
    assert manifest["output"] == []
    # Without _type: nothing about a patient either. Only reference data keeping no change time
    # (each kind's export writes it whatever _since) may be there.
    everything = export_done(client, new, since, capture=django_capture_on_commit_callbacks)
    assert everything["error"] == []
    assert set(by_type(everything)) <= set(REFERENCE)


def test_patient_level_leaves_out_types_outside_the_compartment(
    client, django_capture_on_commit_callbacks
):
    assert {"Patient", "Appointment"} <= set(COMPARTMENT)
    assert {"Practitioner", "Organization", "Location"} <= set(REFERENCE)
    new = api_client()
    AppointmentFactory()
    ClinicianFactory()
    system = export_done(client, new, capture=django_capture_on_commit_callbacks)
    # Without _type, a system-level export is of every exportable type (the client holds every
    # scope); Binary is not one.
    assert ExportJob.objects.get(level="system").types == EXPORTABLE
    assert "Binary" not in EXPORTABLE
    exported = by_type(system)
    assert {"Patient", "Appointment", "Practitioner", "Organization", "Location"} <= set(exported)
    practitioners = lines_of(client, new, exported["Practitioner"][0]["url"])
    assert {p["resourceType"] for p in practitioners} == {"Practitioner"}
    patient_level = export_done(
        client, new, path="Patient/$export", capture=django_capture_on_commit_callbacks
    )
    assert ExportJob.objects.get(level="patient").types == COMPARTMENT
    assert {"Patient", "Appointment"} <= set(by_type(patient_level)) <= set(COMPARTMENT)


def test_since_does_not_hold_back_a_type_with_no_last_updated_time(
    client, django_capture_on_commit_callbacks
):
    new = api_client(scopes=["system/Practitioner.read"])
    with time_machine.travel(DEC_1, tick=False):
        ClinicianFactory()
    manifest = export_done(
        client, new, "_since=2026-12-05T00:00:00Z", capture=django_capture_on_commit_callbacks
    )
    assert [item["count"] for item in manifest["output"]] == [1]


def test_files_split_at_the_set_number_of_resources_each_audited_with_its_patients(
    client, django_capture_on_commit_callbacks, settings
):
    settings.FHIR_EXPORT_FILE_RESOURCES = 2
    new = api_client()
    patients = [PatientFactory() for _ in range(5)]
    manifest = export_done(client, new, "_type=Patient", capture=django_capture_on_commit_callbacks)
    assert [item["count"] for item in manifest["output"]] == [2, 2, 1]
    seen = []
    for item in manifest["output"]:
        seen += [p["id"] for p in lines_of(client, new, item["url"])]
    assert seen == [fhir_id("Patient", p.pk) for p in patients]
    files = ExportFile.objects.order_by("pk")
    assert [f.patient_ids for f in files] == [
        [patients[0].pk, patients[1].pk],
        [patients[2].pk, patients[3].pk],
        [patients[4].pk],
    ]
    downloads = AuditEvent.objects.filter(action="fhir.export-file").order_by("pk")
    assert [d.detail["patient_ids"] for d in downloads] == [f.patient_ids for f in files]


def test_a_file_keeps_its_size_and_checksum(client, django_capture_on_commit_callbacks):
    new = api_client()
    PatientFactory()
    manifest = export_done(client, new, capture=django_capture_on_commit_callbacks)
    row = ExportFile.objects.get(resource_type="Patient")
    response = client.get(urlsplit(by_type(manifest)["Patient"][0]["url"]).path, **basic(new))
    body = b"".join(response.streaming_content)
    assert (len(body), hashlib.sha256(body).hexdigest()) == (row.size, row.sha256)
    assert response["Content-Length"] == str(row.size)


def test_a_rerun_of_the_same_job_restarts_cleanly(client, django_capture_on_commit_callbacks):
    new = api_client()
    PatientFactory()
    export_done(client, new, TWO_TYPES, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    first = list(ExportFile.objects.values_list("storage_key", flat=True))
    # As if the worker died mid-run and the broker delivered the task again.
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING)
    fhir_export_run.apply(args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.attempt, job.resources_written) == ("completed", 2, 1)
    second = list(ExportFile.objects.values_list("storage_key", flat=True))
    assert len(second) == len(first) == 1 and second != first
    store = documents_storage()
    assert not any(store.exists(key) for key in first)
    assert all(store.exists(key) for key in second)


def test_a_finished_or_cancelled_job_is_not_run_again(client, django_capture_on_commit_callbacks):
    new = api_client()
    PatientFactory()
    export_done(client, new, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    fhir_export_run.apply(args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("completed", 1)


def test_a_type_that_fails_is_reported_in_the_error_file_and_the_rest_is_exported(
    client, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    new = api_client()
    AppointmentFactory()

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(REGISTRY, "Appointment", replace(REGISTRY["Appointment"], queryset=broken))
    manifest = export_done(client, new, TWO_TYPES, capture=django_capture_on_commit_callbacks)
    assert set(by_type(manifest)) == {"Patient"}
    [error] = manifest["error"]
    assert error["type"] == "OperationOutcome"
    [outcome] = lines_of(client, new, error["url"])
    assert outcome["issue"][0]["severity"] == "error"
    assert "Appointment could not be exported" in outcome["issue"][0]["diagnostics"]
    assert "boom" not in outcome["issue"][0]["diagnostics"]
    assert "boom" in caplog.text  # logged for the staff, not hidden
    assert ExportJob.objects.get().error == "not exported: Appointment"


def test_when_every_type_fails_the_status_is_an_operation_outcome(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    new = api_client()
    PatientFactory()
    monkeypatch.setattr(type(REGISTRY["Patient"]), "export", lambda self, **kw: 1 / 0)
    with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
        response = kick_off(client, new, "_type=Patient")
    run(callbacks)
    failed = poll(client, new, status_path(response))
    assert failed.status_code == 500
    body = validated(failed.json())
    assert body["issue"][0]["code"] == "processing"
    assert "ZeroDivision" not in failed.content.decode()
    assert ExportJob.objects.get().status == "failed"
    assert not ExportFile.objects.exists()


def test_delete_cancels_a_queued_job_and_it_never_runs(client, django_capture_on_commit_callbacks):
    new = api_client()
    PatientFactory()
    with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
        response = kick_off(client, new)
    cancelled = client.delete(status_path(response), **basic(new))
    assert cancelled.status_code == 202
    run(callbacks)
    job = ExportJob.objects.get()
    assert (job.status, job.attempt) == ("cancelled", 0)
    gone = poll(client, new, status_path(response))
    assert gone.status_code == 404
    assert "cancelled" in gone.json()["issue"][0]["diagnostics"]
    assert AuditEvent.objects.filter(action="fhir.export-status", detail__method="DELETE").exists()


def test_delete_of_a_completed_export_deletes_its_files(client, django_capture_on_commit_callbacks):
    new = api_client()
    PatientFactory()
    manifest = export_done(client, new, capture=django_capture_on_commit_callbacks)
    keys = list(ExportFile.objects.values_list("storage_key", flat=True))
    status = f"{BASE}$export-status/{ExportJob.objects.get().public_id}"
    assert client.delete(status, **basic(new)).status_code == 202
    assert not any(documents_storage().exists(key) for key in keys)
    download = client.get(urlsplit(manifest["output"][0]["url"]).path, **basic(new))
    assert download.status_code == 404
    assert client.delete(status, **basic(new)).status_code == 404


def test_a_run_stops_when_its_job_is_cancelled_midway(
    client, django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.FHIR_EXPORT_FILE_RESOURCES = 1
    new = api_client()
    PatientFactory.create_batch(3)
    with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
        kick_off(client, new, "_type=Patient")
    job = ExportJob.objects.get()
    save_file = export._Run.save_file

    def cancel_after_first(self, **kwargs):
        row = save_file(self, **kwargs)
        export.export_cancel(job=job)
        return row

    monkeypatch.setattr(export._Run, "save_file", cancel_after_first)
    run(callbacks)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not ExportFile.objects.exists()
    assert list(documents_storage().listdir(f"fhir-exports/{job.public_id}")[1]) == []


def test_a_client_runs_at_most_the_set_number_of_exports_at_once(
    client, django_capture_on_commit_callbacks, settings
):
    settings.FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT = 2
    new, other = api_client(), api_client(name="Other EHR")
    with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
        assert kick_off(client, new).status_code == 202
        assert kick_off(client, new).status_code == 202
        third = kick_off(client, new)
        assert third.status_code == 429
        assert third["Retry-After"]
        assert validated(third.json())["issue"][0]["code"] == "throttled"
        assert kick_off(client, other).status_code == 202
    run(callbacks)
    assert kick_off(client, new).status_code == 202  # the first two are done


def test_files_expire_after_a_day_and_the_sweep_deletes_them(
    client, django_capture_on_commit_callbacks
):
    new = api_client()
    PatientFactory()
    with time_machine.travel(DEC_1, tick=False):
        manifest = export_done(client, new, capture=django_capture_on_commit_callbacks)
    keys = list(ExportFile.objects.values_list("storage_key", flat=True))
    status = f"{BASE}$export-status/{ExportJob.objects.get().public_id}"
    with time_machine.travel(DEC_1 + dt.timedelta(hours=23), tick=False):
        fhir_exports_sweep.apply()
        assert poll(client, new, status).status_code == 200
    with time_machine.travel(DEC_1 + dt.timedelta(hours=24, seconds=1), tick=False):
        # Past its life and not swept yet: already gone for the client.
        late = poll(client, new, status)
        assert late.status_code == 404
        assert "expired" in late.json()["issue"][0]["diagnostics"]
        fhir_exports_sweep.apply()
        download = client.get(urlsplit(manifest["output"][0]["url"]).path, **basic(new))
        assert download.status_code == 404
    assert ExportJob.objects.get().status == "expired"
    assert not ExportFile.objects.exists()
    assert not any(documents_storage().exists(key) for key in keys)


def test_the_sweep_queues_again_a_job_whose_task_never_ran(
    client, django_capture_on_commit_callbacks
):
    new = api_client()
    PatientFactory()
    with time_machine.travel(DEC_1, tick=False):
        with queued_tasks(django_capture_on_commit_callbacks):
            kick_off(client, new)  # the broker lost it: the callbacks are never run
    with time_machine.travel(DEC_1 + dt.timedelta(minutes=5), tick=False):
        with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
            export.exports_sweep()
        assert callbacks == []
    with time_machine.travel(DEC_1 + dt.timedelta(minutes=11), tick=False):
        with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
            export.exports_sweep()
        run(callbacks)
    assert ExportJob.objects.get().status == "completed"


def test_beat_runs_the_sweep(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["fhir-exports-sweep"]
    assert entry["task"] == fhir_exports_sweep.name
    assert entry["schedule"] <= 15 * 60
    assert settings.FHIR_EXPORT_TTL_HOURS == 24


def test_the_capability_statement_lists_exactly_the_export_operations(client):
    statement = validated(client.get(BASE + "metadata").json())
    rest = statement["rest"][0]
    assert [(o["name"], o["definition"]) for o in rest["operation"]] == [
        ("export", EXPORT_DEFINITION)
    ]
    by_resource = {
        r["type"]: [o["definition"] for o in r.get("operation", [])] for r in rest["resource"]
    }
    # Every served type, in the registry's order; only Patient carries the patient-level export.
    assert list(by_resource) == list(REGISTRY)
    assert by_resource == {
        t: [PATIENT_EXPORT_DEFINITION] if t == "Patient" else [] for t in REGISTRY
    }
    assert statement["instantiates"] == [
        "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
    ]


def test_the_admin_lists_exports_with_their_progress_and_cancels_through_the_service(
    client, client_for, admin_user, django_capture_on_commit_callbacks
):
    new = api_client(name="Clinic EHR")
    PatientFactory.create_batch(2)
    export_done(client, new, TWO_TYPES, capture=django_capture_on_commit_callbacks)
    with queued_tasks(django_capture_on_commit_callbacks):
        kick_off(client, new, TWO_TYPES)
    staff = client_for(admin_user)
    listing = staff.get(reverse("admin:scheduling_exportjob_changelist"))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "2/2 types, 2 resources" in page
    assert "0/2 types, 0 resources" in page
    assert "Clinic EHR" in page
    queued = ExportJob.objects.get(status="queued")
    staff.post(
        reverse("admin:scheduling_exportjob_changelist"),
        {"action": "cancel", "_selected_action": [queued.pk]},
    )
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    assert AuditEvent.objects.filter(action="fhir.export_cancelled", actor=admin_user).exists()
    detail = staff.get(reverse("admin:scheduling_exportjob_change", args=[queued.pk]))
    assert detail.status_code == 200
    assert staff.get(reverse("admin:scheduling_exportjob_add")).status_code == 403


def test_the_run_is_audited_without_health_information(client, django_capture_on_commit_callbacks):
    new = api_client()
    PatientFactory()
    export_done(client, new, TWO_TYPES, capture=django_capture_on_commit_callbacks)
    event = AuditEvent.objects.get(action="fhir.export_run")
    job = ExportJob.objects.get()
    assert event.detail == {
        "client": new.client.client_id,
        "export": job.public_id,
        "types": ["Patient", "Appointment"],
        "resources": 1,
        "files": 1,
    }
    assert job.finished_at is not None and job.finished_at <= timezone.now()


@pytest.mark.slow
def test_a_bulk_export_of_the_demo_clinic_is_valid_ndjson_for_every_type(
    client, django_capture_on_commit_callbacks
):
    """Issue 23's "done when": every served type, every line valid in the R4B models.

    Every type a client can search is exported. Binary is read by id only (no search-type): its
    kind exports nothing by design, as the file is what each DocumentReference's attachment URL
    gives, so a Binary file is never in the manifest."""
    from io import StringIO

    from django.core.management import call_command

    with time_machine.travel(dt.datetime(2027, 1, 6, 19, 30, tzinfo=dt.UTC), tick=False):
        call_command("seed_demo", stdout=StringIO())
    new = api_client()
    manifest = export_done(client, new, capture=django_capture_on_commit_callbacks)
    assert manifest["error"] == []
    exported = by_type(manifest)
    exportable = {t for t, kind in REGISTRY.items() if "search-type" in kind.interactions}
    assert set(REGISTRY) - exportable == {"Binary"}
    assert list(REGISTRY["Binary"].export()) == []
    assert set(exported) == exportable
    categories: set[str] = set()
    observed: set[str] = set()
    for resource_type, items in exported.items():
        for item in items:
            lines = lines_of(client, new, item["url"])
            assert len(lines) == item["count"] > 0
            assert {line["resourceType"] for line in lines} == {resource_type}
            if resource_type == "Observation":
                categories |= {
                    coding["code"]
                    for line in lines
                    for category in line.get("category", [])
                    for coding in category["coding"]
                }
                observed |= {coding["code"] for line in lines for coding in line["code"]["coding"]}
    # Observation has several sources: the demo's scores and its day-of vital signs both export,
    # every vital sign among them (blood pressure panel, heart rate, SpO2, weight).
    assert {"survey", "vital-signs"} <= categories
    assert {"44261-6", "85354-9", "8867-4", "59408-5", "29463-7"} <= observed
