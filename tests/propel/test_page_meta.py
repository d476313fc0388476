"""Lighthouse's SEO basics (issue 19, item 7): every public page has its own <title> and a meta
description; the pages people arrive at from a search say what they are for in their own words."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import consult_clinic

pytestmark = pytest.mark.django_db

PUBLIC = ["/", "/book/", "/book/check-email/", "/link/", "/link/sent/", "/accounts/login/"]
# Found from a search: their own description, not the site's default.
LANDING = ["/", "/book/", "/link/", "/accounts/login/"]


def title_and_description(client, path: str) -> tuple[str, str]:
    response = client.get(path)
    assert response.status_code == 200, path
    body = response.content.decode()
    titles = re.findall(r"<title>(.*?)</title>", body, re.S)
    descriptions = re.findall(r'<meta name="description" content="([^"]*)">', body)
    assert len(titles) == 1 and len(descriptions) == 1, path
    return html.unescape(titles[0].strip()), html.unescape(descriptions[0].strip())


def test_each_public_page_has_its_own_title_and_a_description(client):
    consult_clinic()
    seen = {path: title_and_description(client, path) for path in PUBLIC}
    titles = [title for title, _ in seen.values()]
    assert len(set(titles)) == len(titles), titles
    for path, (title, description) in seen.items():
        assert "Propel Clinic" in title, path
        assert 50 <= len(description) <= 160, (path, description)
    landing = [seen[path][1] for path in LANDING]
    assert len(set(landing)) == len(landing), landing
    default = seen["/link/sent/"][1]
    assert default not in landing
