"""Issue 19, item 2, in a real browser on a small phone (360 x 740): the 0-10 pain scale sits on
one or two rows of large targets, no questionnaire page scrolls sideways, and a patient fills
the whole questionnaire through, checks the folded review page and sends it. Axe finds nothing
serious on the pages this changed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from intake.examples import complete_answers
from intake.links import patient_link_token
from intake.models import IntakeSubmission
from intake.questions import SECTION_KEYS
from tests.e2e.conftest import _page
from tests.e2e.test_accessibility import violations
from tests.e2e.test_patient_books_and_screens import fill_step
from tests.factories import PatientFactory, section_post_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SMALL_PHONE = {"width": 360, "height": 740}
TARGET_PX = 44


@pytest.fixture
def page(browser, live_server) -> Iterator[Page]:
    yield from _page(browser, SMALL_PHONE, live_server)


@pytest.fixture
def token(db) -> str:
    return patient_link_token(PatientFactory())


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_the_pain_scale_sits_on_at_most_two_rows_of_large_targets(page: Page, token):
    page.goto(f"/p/{token}/intake/")
    page.goto(f"/p/{token}/intake/pain/")
    for name in ("nrs_now", "peg_p", "peg_e", "peg_g"):
        radios = page.locator(f'input[type="radio"][name="{name}"]')
        assert radios.count() == 11
        rows = set(radios.evaluate_all("inputs => inputs.map(input => input.offsetTop)"))
        assert 1 <= len(rows) <= 2, (name, rows)
        targets = page.locator(f'label.choice-option:has(input[name="{name}"])')
        sizes = targets.evaluate_all(
            "labels => labels.map(l => [l.getBoundingClientRect().width,"
            " l.getBoundingClientRect().height])"
        )
        assert all(w >= TARGET_PX and h >= TARGET_PX for w, h in sizes), (name, sizes)
    # A tap anywhere on the target picks the answer.
    page.locator('label.choice-option:has(input[name="nrs_now"][value="7"])').click(
        position={"x": 4, "y": 4}
    )
    expect(page.locator('input[name="nrs_now"][value="7"]')).to_be_checked()
    assert not scrolls_sideways(page)


def test_the_frequency_answers_are_compact_and_readable(page: Page, token):
    page.goto(f"/p/{token}/intake/")
    page.goto(f"/p/{token}/intake/phq9/")
    labels = page.locator('label.choice-option:has(input[name="phq9_1"])')
    assert labels.count() == 4
    boxes = labels.evaluate_all(
        "labels => labels.map(l => { const r = l.getBoundingClientRect();"
        " return [r.top, r.width, r.height, l.scrollWidth <= l.clientWidth]; })"
    )
    assert len({round(top) for top, *_ in boxes}) == 2  # two rows of two
    assert all(w >= TARGET_PX and h >= TARGET_PX and fits for _, w, h, fits in boxes), boxes
    expect(labels.nth(2)).to_contain_text("More than half the days")
    assert not scrolls_sideways(page)


def test_a_patient_fills_the_questionnaire_through_on_a_small_phone(page: Page, token):
    page.goto(f"/p/{token}/intake/")
    answers = complete_answers()
    total = len(SECTION_KEYS)
    for number, section_key in enumerate(SECTION_KEYS, start=1):
        page.wait_for_url(re.compile(f"/intake/{section_key}/$"))
        expect(page.get_by_text(f"Step {number} of {total}", exact=True)).to_be_visible()
        assert page.locator("progress").get_attribute("value") == str(number)
        assert not scrolls_sideways(page), section_key
        fill_step(page, section_post_data(section_key, answers))
        page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/intake/review/$"))
    folds = page.locator("details")
    assert folds.count() == total
    assert page.get_by_role("link", name=re.compile("^Edit")).count() == total
    assert not scrolls_sideways(page)
    short = page.evaluate("() => document.documentElement.scrollHeight")
    for index in range(total):
        folds.nth(index).locator("summary").click()
    for index in range(total):
        expect(folds.nth(index).locator("dd").first).to_be_visible()
    assert not scrolls_sideways(page)
    assert page.evaluate("() => document.documentElement.scrollHeight") > short
    assert short < 2500, short  # was 8,369 px with every answer open

    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(re.compile(r"/intake/sent/1/$"))
    assert not scrolls_sideways(page)
    page.goto(f"/p/{token}/intake/answers/1/")
    assert page.locator("details").count() == total
    for index in range(total):
        page.locator("summary").nth(index).click()
    assert not scrolls_sideways(page)
    submission = IntakeSubmission.objects.get()
    assert submission.is_submitted
    assert not submission.flags.exists()


def test_the_scales_the_about_page_and_the_folded_review_pass_axe(page: Page, token):
    page.goto(f"/p/{token}/intake/")
    for key in ("pain", "phq9"):
        page.goto(f"/p/{token}/intake/{key}/")
        assert not violations(page), key
    # In a new tab: what the patient has ticked on this page stays as it is.
    page.locator('input[name="phq9_1"][value="2"]').check()
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=re.compile("About these questions")).click()
    about = opened.value
    expect(about.get_by_role("heading", name="About these questions", level=1)).to_be_visible()
    assert not scrolls_sideways(about)
    assert not violations(about)
    about.close()
    expect(page.locator('input[name="phq9_1"][value="2"]')).to_be_checked()

    IntakeSubmission.objects.update(
        answers=complete_answers(), completed_sections=list(SECTION_KEYS)
    )
    page.goto(f"/p/{token}/intake/review/")
    page.locator("summary").first.click()
    assert not violations(page)
