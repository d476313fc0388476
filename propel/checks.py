"""System checks of a production deployment (`manage.py check --deploy`; scripts/start-production
runs it before gunicorn starts).

Production serves static files through WhiteNoise's manifest storage, which raises for every page
that names a file the manifest does not know: without `collectstatic` every page answered 500.
The check says so, by name, before the site starts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

STATIC_MANIFEST = "staticfiles.json"


@register(Tags.staticfiles, deploy=True)
def static_manifest_collected(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if not settings.PRODUCTION or settings.STATIC_ROOT is None:
        return []
    manifest = settings.STATIC_ROOT / STATIC_MANIFEST
    if manifest.is_file():
        return []
    return [
        Error(
            f"The static files are not collected: {manifest} is missing, and every page would "
            "answer 500.",
            hint="Run `python manage.py collectstatic --noinput` before starting the site "
            "(scripts/start-production does).",
            id="propel.E001",
        )
    ]
