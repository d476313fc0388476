"""A patient's online booking and cancellation, step by step through the real pages (as
tests/journeys does in-process): choose a time on /book/, hold it, give details, "check your
email"; open the emailed link and confirm; cancel from the patient's page."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.harness import Client, Response

SLOT = re.compile(r'name="start" value="([^"]+)"')
WEEK = re.compile(r"/book/\?day=(\d{4}-\d{2}-\d{2})")
HOME = re.compile(r"^/p/([^/]+)/$")
CONFIRM_LINK = re.compile(r"/book/confirm/[^/\s\"]+/")
# However slow a broken dependency is, a page must answer well within this.
PAGE_SECONDS = 5.0


@dataclass
class Booking:
    token: str
    appointment_id: int
    start: dt.datetime
    responses: list[Response] = field(default_factory=list)


def _answered(response: Response, status: int, what: str) -> Response:
    assert response.status == status, f"{what}: {response.status}\n{response.text[:1000]}"
    assert response.elapsed < PAGE_SECONDS, f"{what} took {response.elapsed:.1f} s"
    return response


def _choose_start(client: Client, not_before: dt.datetime) -> tuple[Response, str]:
    """The first offered start at or after `not_before`, from the live slot picker."""
    path = "/book/"
    for _ in range(4):
        page = _answered(client.get(path), 200, f"GET {path}")
        for value in SLOT.findall(page.text):
            if dt.datetime.fromisoformat(value) >= not_before:
                return page, value
        weeks = WEEK.findall(page.text)
        assert weeks, "no later week to look in"
        path = f"/book/?day={max(weeks)}"
    raise AssertionError(f"no free time on or after {not_before} in four weeks")


def _opened(client: Client, path: str, what: str) -> tuple[str, Response]:
    """GET a patient's link as a browser does: the token is swapped for a session (a 302 to the
    same address with `me`, intake.link_pages), then the page. The address and the page."""
    swap = _answered(client.get(path), 302, f"{what} (the link's swap)")
    return swap.location, _answered(client.get(swap.location), 200, what)


def request_online(
    client: Client, *, first_name: str, email: str, not_before: dt.datetime
) -> tuple[dt.datetime, list[Response]]:
    """Ask for a consultation as a new patient (the form answers "check your email"); every
    page must answer promptly. Returns the requested start and the responses."""
    picker, start = _choose_start(client, not_before)
    hold = _answered(client.submit("/book/hold/", picker, {"start": start}), 302, "hold")
    details_path = hold.location
    form = _answered(client.get(details_path), 200, "details form")
    details = {
        "first_name": first_name,
        "last_name": "Example",
        "date_of_birth": "03/27/1980",
        "email": email,
        "mobile": "(916) 555-0144",
        "consent_email": "on",
        "consent_sms": "on",
    }
    asked = _answered(client.submit(details_path, form, details), 302, "booking request")
    assert asked.location == "/book/check-email/", asked.location
    check = _answered(client.get(asked.location), 200, "check your email page")
    assert "Check your email" in check.text
    return dt.datetime.fromisoformat(start), [picker, hold, form, asked, check]


def confirm_link(var_dir: Path, email: str) -> str:
    """The confirmation link's path from the email the file backend wrote to `email`."""
    for path in sorted((var_dir / "mail").glob("*")):
        text = path.read_text(errors="replace")
        if re.search(rf"^To: {re.escape(email)}$", text, re.MULTILINE):
            match = CONFIRM_LINK.search(text)
            if match:
                return match[0]
    raise AssertionError(f"no confirmation link emailed to {email}")


def confirm_online(client: Client, link: str, start: dt.datetime) -> Booking:
    """Open the emailed link and press "Confirm my booking": the patient's page opens."""
    landed = _answered(client.get(link), 302, "confirmation link")
    page = _answered(client.get(landed.location), 200, "confirmation page")
    confirmed = _answered(client.submit(landed.location, page, {}), 302, "confirmation")
    match = HOME.match(confirmed.location)
    assert match, f"the confirmation went to {confirmed.location!r}, not the patient's page"
    _, home = _opened(client, confirmed.location, "patient's page")
    appointment_id = re.search(r"/appointments/(\d+)/cancel/", home.text)
    assert appointment_id, "no appointment on the patient's page"
    return Booking(
        token=match[1],
        appointment_id=int(appointment_id[1]),
        start=start,
        responses=[landed, page, confirmed, home],
    )


def cancel_online(client: Client, booking: Booking) -> Response:
    link = f"/p/{booking.token}/appointments/{booking.appointment_id}/cancel/"
    path, page = _opened(client, link, "cancel page")
    cancelled = _answered(client.submit(path, page, {"reason": "plans_changed"}), 302, "cancel")
    assert cancelled.location == "/p/me/"
    return cancelled
