"""What `make run` prints before the clinic starts (manage.py seed_demo): where to go, the staff
logins, a patient's real signed links to try, and where the demo's emails and texts land."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from demo.seed import (
    DEMO_BACKUP_CODES,
    DEMO_FHIR_CLIENT_ID,
    DEMO_FHIR_SECRET,
    DEMO_PASSWORD,
    DemoLogin,
)
from intake.links import patient_link_token
from intake.models import IntakeSubmission, Patient, SubmissionStatus
from scheduling.fhir.ids import fhir_id
from scheduling.models import Appointment

FILE_EMAIL = "django.core.mail.backends.filebased.EmailBackend"
CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
FILE_SMS = "propel.sms.FileBackend"
CONSOLE_SMS = "propel.sms.ConsoleBackend"


@dataclass(frozen=True)
class PatientLink:
    what: str
    patient: Patient
    url: str


def _upcoming(now: dt.datetime) -> list[Appointment]:
    return list(
        Appointment.objects.active()
        .filter(start__gte=now, patient__email__endswith=".test")
        .select_related("patient", "appointment_type")
        .order_by("start", "pk")
    )


def patient_links(*, site: str, now: dt.datetime) -> list[PatientLink]:
    """A new patient's questionnaire link (booked, nothing answered yet) and the manage link of a
    patient with a visit booked (an infusion when there is one). Fresh tokens on every run."""
    upcoming = _upcoming(now)
    screened = set(
        IntakeSubmission.objects.screenings()
        .filter(patient__in={a.patient_id for a in upcoming})
        .values_list("patient_id", flat=True)
    )
    links = []
    new = next((a.patient for a in upcoming if a.patient_id not in screened), None)
    if new is not None:
        url = site + reverse("intake:start", args=[patient_link_token(new)])
        links.append(PatientLink("questionnaire (new patient)", new, url))
    visits = sorted(upcoming, key=lambda a: not a.appointment_type.needs_clearance)
    if visits:
        patient = visits[0].patient
        url = site + reverse("scheduling:patient_home", args=[patient_link_token(patient)])
        links.append(PatientLink("manage a booked visit", patient, url))
    return links


def fhir_lines(*, site: str) -> list[str]:
    """The demo EHR's API client and the curl lines that read a demo patient who has sent a
    questionnaire, and that patient's answers (docs/fhir.md)."""
    lines = [
        "  FHIR R4 read API (the EHR's view, docs/fhir.md): client id "
        f"{DEMO_FHIR_CLIENT_ID}, secret {DEMO_FHIR_SECRET}",
    ]
    demo = Patient.objects.filter(email__endswith=".test").order_by("pk")
    patient = demo.filter(submissions__status=SubmissionStatus.SUBMITTED).first() or demo.first()
    if patient is not None:
        pid = fhir_id("Patient", patient.pk)
        login = f"curl -u {DEMO_FHIR_CLIENT_ID}:{DEMO_FHIR_SECRET}"
        lines.append(f"    {login} {site}/fhir/R4/Patient/{pid}")
        lines.append(f'    {login} "{site}/fhir/R4/QuestionnaireResponse?patient={pid}"')
    return lines


def delivery_lines() -> list[str]:
    """Where the demo's patient messages go, read from the backends the settings chose."""
    lines = []
    for what, backend, folder, file_backend, console_backend in (
        ("Emails", settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH, FILE_EMAIL, CONSOLE_EMAIL),
        ("Texts (SMS)", settings.SMS_BACKEND, settings.SMS_FILE_PATH, FILE_SMS, CONSOLE_SMS),
    ):
        if backend == file_backend:
            where = f"written to {Path(folder)}/ by the worker"
        elif backend == console_backend:
            where = "printed in this console by the worker"
        else:
            where = f"sent through {backend}"
        lines.append(f"  {what}: {where}")
    return lines


def banner(*, site: str, logins: list[DemoLogin], now: dt.datetime) -> list[str]:
    lines = [
        f"  Propel is at {site}/  (staff sign-in: {site}/accounts/login/)",
        "",
        f"  Staff logins, every one with the password: {DEMO_PASSWORD}",
        "  Second factor: a code from an authenticator app set up with the secret shown,",
        f"  or a one-time backup code: {', '.join(DEMO_BACKUP_CODES)} (reset on every run)",
    ]
    lines += [
        f"    {login.username:<11} {login.role:<11} TOTP secret {login.totp_secret}"
        for login in logins
    ]
    links = patient_links(site=site, now=now)
    if links:
        lines += [
            "",
            "  Try it as a patient (signed links, no password; each opens in a new session):",
        ]
        for link in links:
            lines += [f"    {link.what}, {link.patient.first_name} {link.patient.last_name}:"]
            lines += [f"      {link.url}"]
    return [*lines, "", *fhir_lines(site=site), "", *delivery_lines(), ""]
