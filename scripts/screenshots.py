"""Screenshots of the main pages for the README, taken from a freshly seeded demo clinic.

    make screenshots        (or: .venv/bin/python scripts/screenshots.py)

Builds a demo database of its own under var/screenshots (SQLite and the filesystem broker, never
DATABASE_URL or REDIS_URL), runs `manage.py runserver 127.0.0.1:8799 --noreload` in the
background, signs in as the demo staff with the demo backup codes (demo.seed), saves PNGs
under docs/screenshots/ and stops the server. Playwright drives Debian's chromium
(/usr/bin/chromium); no browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT / "var" / "screenshots"
OUT = ROOT / "docs" / "screenshots"
HOST, PORT = "127.0.0.1", 8799
BASE = f"http://{HOST}:{PORT}"
CHROMIUM = os.environ.get("PROPEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# The demo clinic only: its own SQLite file and filesystem broker, whatever the shell says.
ENV = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
ENV.update(PROPEL_VAR_DIR=str(VAR_DIR), DJANGO_SETTINGS_MODULE="propel.settings")
ENV.pop("DJANGO_MODE", None)


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=ENV, check=True)  # noqa: S603


def fresh_demo_database() -> None:
    if VAR_DIR.exists():
        shutil.rmtree(VAR_DIR)
    for folder in ("broker/queue", "broker/control"):
        (VAR_DIR / folder).mkdir(parents=True)
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")


def demo_targets() -> dict[str, object]:
    """Read what the pages need from the demo database: patient links, the demo backup codes,
    a patient cleared for infusions."""
    os.environ.clear()
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from demo.seed import DEMO_BACKUP_CODES, DEMO_PASSWORD
    from intake.links import patient_link_token
    from intake.models import ClearanceDecision, IntakeSubmission
    from scheduling.models import Appointment, AppointmentStatus, CourseStatus, InfusionCourse

    screenings = IntakeSubmission.objects.screenings().select_related("patient").order_by("pk")
    in_progress = next(s for s in screenings if not s.is_submitted)
    crisis = next(s for s in screenings if s.is_submitted and int(s.answers.get("phq9_9") or 0) > 0)
    cleared = ClearanceDecision.objects.filter(kind="cleared").order_by("pk").first()
    # A discharged infusion (check-in to discharge on one screen) and a patient mid-course.
    visit = (
        Appointment.objects.filter(status=AppointmentStatus.COMPLETED, course__isnull=False)
        .order_by("-start")
        .first()
    )
    mid_course = InfusionCourse.objects.filter(status=CourseStatus.ACTIVE).order_by("pk").first()
    # A patient who has signed nothing yet, and one whose letter and ID are on file (issue 21).
    from intake.paperwork_models import PatientDocument

    unsigned = next(s.patient for s in screenings if not s.patient.consent_signatures.exists())
    sent = PatientDocument.objects.filter(patient__isnull=False).order_by("pk").first()
    waitlist_demo()
    return {
        "password": DEMO_PASSWORD,
        "codes": list(DEMO_BACKUP_CODES),
        "questionnaire": f"/p/{patient_link_token(in_progress.patient)}/intake/",
        "crisis": f"/p/{patient_link_token(crisis.patient)}/intake/sent/{crisis.round}/",
        "course": f"/staff/patients/{cleared.patient_id}/course/new/",
        "visit": f"/staff/visits/{visit.pk}/",
        "patient": f"/staff/patients/{mid_course.patient_id}/",
        "consent": f"/p/{patient_link_token(unsigned)}/forms/electronic/",
        "documents": f"/p/{patient_link_token(sent.patient)}/documents/",
    }


def waitlist_demo() -> None:
    """Three demo patients on the waitlist, the first two offered a free time (issue 20)."""
    import datetime as dt

    from django.utils import timezone

    from intake.models import Patient
    from scheduling.online.offer import online_slots
    from scheduling.online.rules import consultation_type
    from scheduling.waitlist.services import entry_add, slot_freed

    consultation = consultation_type()
    if consultation is None:
        return
    for patient in Patient.objects.order_by("-pk")[:3]:
        entry_add(patient_id=patient.pk, appointment_type=consultation, part_of_day="afternoon")
    today = timezone.localdate()
    slots = online_slots(
        consultation,
        start_date=today,
        end_date=today + dt.timedelta(days=14),
        now=timezone.now(),
    )
    slot = next((slot for slot in slots if timezone.localtime(slot.start).hour >= 12), None)
    if slot is not None:
        slot_freed(
            appointment_type_id=consultation.pk,
            start=slot.start,
            room_id=slot.room_ids[0],
            clinician_id=slot.clinician_ids[0] if slot.clinician_ids else None,
        )


def wait_until_up(server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"screenshots: runserver exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{BASE}/", timeout=2):  # noqa: S310 - local
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"screenshots: the server did not answer on {BASE} within {seconds:.0f} s")


def sign_in(page, username: str, password: str, code: str) -> None:
    page.goto(f"{BASE}/accounts/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    page.locator('form [type="submit"]').first.click()
    page.wait_for_url("**/accounts/second-factor/**")
    page.locator('input[name="code"]').fill(code)
    page.locator('[name="verify"]').click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def shoot(page, name: str, *, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / name), full_page=full_page)
    print(f"screenshots: docs/screenshots/{name}")


def take(targets: dict[str, object]) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_context(viewport=PHONE).new_page()
        phone.goto(f"{BASE}/")
        shoot(phone, "landing.png")
        phone.goto(f"{BASE}/book/")
        shoot(phone, "slot-picker.png")
        phone.goto(f"{BASE}{targets['questionnaire']}")
        shoot(phone, "questionnaire-step.png")
        phone.goto(f"{BASE}{targets['crisis']}")
        shoot(phone, "crisis-screen.png")
        spanish = browser.new_context(
            viewport=PHONE, locale="es-US", extra_http_headers={"Accept-Language": "es-US,es"}
        ).new_page()
        spanish.goto(f"{BASE}/book/")
        shoot(spanish, "slot-picker-es.png")
        phone.goto(f"{BASE}{targets['consent']}")
        shoot(phone, "consent-sign.png")
        phone.goto(f"{BASE}{targets['documents']}")
        shoot(phone, "patient-documents.png")

        clinician = browser.new_context(viewport=DESKTOP).new_page()
        sign_in(clinician, "clinician1", targets["password"], targets["codes"][0])
        clinician.goto(f"{BASE}/staff/review/")
        shoot(clinician, "review-queue.png")
        clinician.locator('a[href*="/chart/"]').first.click()
        clinician.wait_for_url("**/chart/")
        shoot(clinician, "chart.png")
        clinician.goto(f"{BASE}{targets['visit']}")
        shoot(clinician, "visit.png", full_page=True)
        clinician.goto(f"{BASE}/staff/reports/")
        shoot(clinician, "reports.png")

        desk = browser.new_context(viewport=DESKTOP).new_page()
        sign_in(desk, "frontdesk", targets["password"], targets["codes"][0])
        desk.goto(f"{BASE}/staff/calendar/")
        shoot(desk, "calendar-day.png")
        desk.goto(f"{BASE}/staff/day/")
        shoot(desk, "day-sheet.png")
        desk.goto(f"{BASE}{targets['patient']}")
        shoot(desk, "patient.png")
        desk.goto(f"{BASE}/staff/waitlist/")
        shoot(desk, "waitlist.png")
        desk.goto(f"{BASE}/staff/referrals/")
        shoot(desk, "referrals.png")
        desk.goto(f"{BASE}{targets['course']}")
        desk.get_by_role("button", name="Propose dates").click()
        desk.wait_for_load_state("networkidle")
        shoot(desk, "course-planner.png")
        browser.close()


def main() -> None:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"screenshots: no chromium at {CHROMIUM} (apt-get install chromium)")
    fresh_demo_database()
    targets = demo_targets()
    server = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(server)
        take(targets)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
