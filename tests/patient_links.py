"""Opening a patient's link as the patient's browser does (intake.link_pages): the first GET
swaps the token for a session and redirects to the same address with the marker `me`."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from intake.link_sessions import ME
from intake.links import patient_link_token
from intake.models import Patient


def open_link(client: Client, url: str, **extra: object) -> HttpResponse:
    """GET a link's address, check the swap, and return the page it lands on (a 302 from the
    page itself is returned as it is)."""
    response = client.get(url, **extra)  # type: ignore[arg-type]
    assert response.status_code == 302, f"{url} answered {response.status_code}, not the swap"
    location = response["Location"]
    assert f"/{ME}/" in location, location
    return client.get(location)  # type: ignore[return-value]


def open_session(client: Client, patient: Patient) -> str:
    """Open the patient's link in `client` (their page, once) and return ME, the token segment
    of every address the session now reaches."""
    page = open_link(client, reverse("scheduling:patient_home", args=[patient_link_token(patient)]))
    assert page.status_code == 200, page.status_code
    return ME
