"""htmx loads only where a page uses it (issue 19, item 7: less script on the public pages):
every page with an hx- attribute loads it, and the public pages without one do not."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import open_weekdays
from tests.propel.test_html_validity import _fetch, _pages
from tests.test_permission_matrix import build_world

pytestmark = pytest.mark.django_db

HTMX_SCRIPT = re.compile(r'<script src="[^"]*/htmx\.min\.[^"]*js"')
HX_ATTRIBUTE = re.compile(r"\s(?:data-)?hx-[a-z-]+=")
WITHOUT_HTMX = ["/", "/link/", "/accounts/login/", "/questions/about/"]


@pytest.mark.parametrize("url", WITHOUT_HTMX)
def test_public_pages_without_htmx_attributes_do_not_load_it(url):
    body = Client().get(url).content.decode()
    assert not HX_ATTRIBUTE.search(body)
    assert not HTMX_SCRIPT.search(body)
    assert 'src="/static/vendor/bootstrap-5.3.9/bootstrap.bundle.min.js" defer' in body


@pytest.mark.slow  # ~80 pages over one fixture world: ~10 s
def test_every_page_with_an_htmx_attribute_loads_htmx():
    open_weekdays()
    world = build_world()
    using = []
    missing = []
    for persona, url in _pages(world):
        final, response = _fetch(world, persona, url)
        # A report's CSV download (scheduling.reports, streamed), a signed form's PDF: not pages.
        if response.streaming or "text/html" not in response.get("Content-Type", ""):
            continue
        body = response.content.decode()
        if HX_ATTRIBUTE.search(body):
            using.append(final)
            if not HTMX_SCRIPT.search(body):
                missing.append(f"{final} as {persona}")
    assert len(using) >= 3, using  # the slot picker, the calendar day and week, the day sheet
    assert not missing, "\n".join(missing)
