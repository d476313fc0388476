"""Production static files (issue 19, item 7): collectstatic writes hashed names with gzip and
brotli copies beside them (whitenoise's CompressedManifestStaticFilesStorage, brotli installed),
and WhiteNoise serves a hashed name for a year, immutable, in the encoding the browser asks for;
a name without its hash is cached briefly, since it can change under the same address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

PRODUCTION_STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def production_static(root: Path) -> override_settings:
    return override_settings(
        STATIC_ROOT=root,
        STORAGES=PRODUCTION_STORAGES,
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
    )


@pytest.fixture(scope="module")
def collected_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Collected once for the module: brotli at its best quality takes a while. The admin's
    files and the test-only axe-core are left out here (production collects them too)."""
    root = tmp_path_factory.mktemp("static")
    with production_static(root):
        call_command(
            "collectstatic",
            interactive=False,
            verbosity=0,
            ignore_patterns=["admin", "axe-core-*"],
        )
    return root


@pytest.fixture
def collected(collected_once: Path):
    with production_static(collected_once):
        yield collected_once


def hashed_css(root: Path) -> str:
    (path,) = [
        p
        for p in (root / "css").glob("propel.*.css")
        if re.fullmatch(r"propel\.[0-9a-f]{12}\.css", p.name)
    ]
    return path.name


def test_collectstatic_writes_gzip_and_brotli_beside_each_hashed_file(collected):
    name = hashed_css(collected)
    assert (collected / "css" / f"{name}.gz").exists()
    assert (collected / "css" / f"{name}.br").exists()
    bootstrap = next((collected / "vendor" / "bootstrap-5.3.9").glob("bootstrap.min.*.css.br"))
    assert bootstrap.stat().st_size > 0


@pytest.mark.parametrize(("accept", "encoding"), [("br, gzip", "br"), ("gzip", "gzip")])
def test_a_hashed_name_is_served_compressed_and_cached_for_a_year(collected, accept, encoding):
    response = Client().get(
        f"/static/css/{hashed_css(collected)}", headers={"Accept-Encoding": accept}
    )
    assert response.status_code == 200
    assert response["Content-Encoding"] == encoding
    assert "max-age=315360000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    assert "Accept-Encoding" in response["Vary"]


def test_a_name_without_its_hash_is_cached_briefly(collected):
    response = Client().get("/static/css/propel.css", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"]
    assert "max-age=315360000" not in response["Cache-Control"]


def test_pages_link_the_hashed_names(collected):
    body = Client().get("/").content.decode()
    assert re.search(r'href="/static/css/propel\.[0-9a-f]{12}\.css"', body), body[:800]
    bundle = r'src="/static/vendor/bootstrap-5\.3\.9/bootstrap\.bundle\.min\.[0-9a-f]{12}\.js"'
    assert re.search(bundle, body)
