"""Every page parses as HTML without a single error (issue 19, item 6): each URL of the permission
matrix, fetched as a persona it opens for, over the matrix's fixture world (with opening hours,
so the slot picker has times), plus every questionnaire step, the staff calendar on a day with
visits and the error pages. The Django admin is Django's and is left out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from intake.questions import SECTIONS
from intake.questions.check_in import CHECK_IN_SECTIONS
from tests.factories import open_weekdays
from tests.propel.html_validity import parse_errors, unknown_attributes
from tests.test_permission_matrix import (
    BAD_TOKEN,
    LOGIN,
    MATRIX,
    World,
    build_world,
    client_for_persona,
    token_for,
)

pytestmark = pytest.mark.django_db

NOT_PAGES = {"admin:index", "propel:healthz", "scheduling:clinician_feed"}
# Who opens a page, in this order of preference: the fullest view first.
PREFERENCE = ("clinician", "admin", "front_desk", "patient", "other_link", "anonymous")


def _persona_for(expect: dict) -> str | None:
    if expect["anonymous"] == 200:  # a public page: as the public sees it (sign-in included)
        return "anonymous"
    for persona in PREFERENCE:
        if expect[persona] not in (LOGIN, 403, 404, 405, 410):
            return persona
    return None


def _fetch(world: World, persona: str, url: str) -> tuple[str, object]:
    client = client_for_persona(world, persona)
    response = client.get(url, follow=True)
    return response.redirect_chain[-1][0] if response.redirect_chain else url, response


def _pages(world: World) -> list[tuple[str, str]]:
    """(persona, url) for every page."""
    pages = []
    for name, row in sorted(MATRIX.items()):
        if row.method != "GET" or name in NOT_PAGES:
            continue
        persona = _persona_for(row.expect)
        if persona is None:
            continue
        pages.append((persona, reverse(name, kwargs=row.kwargs(world, token_for(world, persona)))))
    other = token_for(world, "other_link")
    pages += [
        ("other_link", reverse("intake:section", kwargs={"token": other, "section_key": s.key}))
        for s in SECTIONS
    ]
    own = token_for(world, "patient")
    round_ = world.check_in_draft.round
    pages += [
        (
            "patient",
            reverse(
                "intake:check_in_section",
                kwargs={"token": own, "round": round_, "section_key": s.key},
            ),
        )
        for s in CHECK_IN_SECTIONS
    ]
    day = world.infusion.start.date().isoformat()
    pages += [
        ("clinician", f"{reverse('scheduling:calendar')}?date={day}"),
        ("clinician", f"{reverse('scheduling:calendar_week')}?date={day}"),
        ("front_desk", f"{reverse('scheduling:day_sheet')}?date={day}"),
        ("anonymous", "/no-such-page/"),
        ("front_desk", reverse("intake:review_queue")),  # 403
        ("anonymous", reverse("scheduling:patient_home", kwargs={"token": BAD_TOKEN})),
    ]
    return pages


def test_the_checker_reports_errors_with_their_line():
    document = "<!doctype html>\n<html lang=en><title>t</title>\n<p>a</div>\n<b id=1 id=2>x</b>"
    errors = parse_errors(document)
    assert [(e.line, e.code) for e in errors] == [
        (3, "end-tag-too-early"),
        (4, "duplicate-attribute"),
    ], errors
    assert "<p>a</div>" in str(errors[0])
    assert unknown_attributes('<button hx-post="/x" data-hx-target="#y">') == ["hx-post"]


@pytest.mark.slow  # ~80 pages over one fixture world: ~10 s
def test_every_page_parses_without_errors():
    open_weekdays()
    world = build_world()
    problems = []
    checked = 0
    for persona, url in _pages(world):
        final, response = _fetch(world, persona, url)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        document = response.content.decode()
        for error in parse_errors(document):
            problems.append(f"{final} as {persona} ({response.status_code}): {error}")
        for attribute in unknown_attributes(document):
            problems.append(f"{final} as {persona}: {attribute} (write data-{attribute})")
    assert checked >= 50, checked
    assert not problems, "\n".join(problems)


def test_the_expired_form_and_the_500_page_parse_without_errors():
    response = Client(enforce_csrf_checks=True).post(
        "/link/", {"email": 'a"<b>@example.com'}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 403 and not parse_errors(response.content.decode())
    from propel.error_pages import server_error

    assert not parse_errors(server_error(None).content.decode())  # type: ignore[arg-type]
