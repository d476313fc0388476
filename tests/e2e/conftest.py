"""Browser tests: Playwright (sync API) drives Debian's chromium against pytest-django's live
server. No browser is ever downloaded: the executable is /usr/bin/chromium.

Every test here is marked `e2e`, runs with `transaction=True` (the live server is another thread
with its own connection) and has Celery tasks run eagerly, so emails land in Django's locmem
outbox."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from tests.eager import eager_tasks

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
TIMEOUT_MS = 10_000
BACKUP_CODE = "2468013579"  # 10 digits, as propel.second_factor.BACKUP_CODE_DIGITS


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One chromium per test module. Playwright's sync API keeps an event loop running in the
    main thread while it is open, and Django refuses database calls from a thread with a running
    loop: the browser is closed (and Django's async guard restored) at the end of each e2e module
    so the rest of the suite runs exactly as without these tests."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"e2e tests need chromium at {CHROMIUM} (apt-get install chromium)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    with eager_tasks(propagate=False):
        yield


def _page(browser, viewport: dict, live_server) -> Iterator[object]:
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server) -> Iterator[object]:
    yield from _page(browser, PHONE, live_server)


@pytest.fixture
def desktop_page(browser, live_server) -> Iterator[object]:
    yield from _page(browser, DESKTOP, live_server)


def give_backup_code(user, code: str = BACKUP_CODE) -> str:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
    StaticToken.objects.create(device=device, token=code)
    return code


def sign_in(page, username: str, password: str, code: str) -> None:
    """Staff sign-in through the real pages: password, then a backup code."""
    page.goto("/accounts/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    page.locator('form [type="submit"]').first.click()
    page.wait_for_url("**/accounts/second-factor/**")
    page.locator('input[name="code"]').fill(code)
    page.locator('[name="verify"]').click()
    page.wait_for_url(lambda url: "/accounts/" not in url)
