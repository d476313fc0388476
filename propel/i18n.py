"""Languages: compiling the catalogues, and staff pages in English whatever the visitor chose.

- `compile_catalogues()` (manage.py compile_translations; `make run`, `make test` and the
  production start call it) turns every locale's .po under LOCALE_PATHS into its .mo: with GNU
  msgfmt when the machine has it, else with polib (a fresh machine has only Python). Both refuse a
  catalogue that does not parse or whose translation drops or adds a placeholder.
- `StaffEnglishMiddleware`, after LocaleMiddleware: staff pages (/staff/, /admin/, /accounts/,
  the clinicians' feeds and the SMS webhook) are always English, so `<html lang>` says "en" there.
- `placeholders()`: the %(name)s / %s / {name} slots of a message, for the compile check and the
  catalogue tests (tests/propel/test_i18n_catalogue.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polib
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

# Paths whose pages are for staff only: shown in English whatever the cookie or the browser says.
STAFF_PREFIXES = ("/staff/", "/admin/", "/accounts/", "/feeds/clinician/", "/webhooks/")

# Python %-placeholders (%(name)s, %s, %d, but not %%) and str.format ones ({name}, {0}).
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]")
_BRACE = re.compile(r"\{[A-Za-z0-9_]*\}")


def placeholders(text: str, *, brace: bool = False) -> list[str]:
    """The placeholders of a message, sorted (so reordering in a translation is fine)."""
    found = _PERCENT.findall(text.replace("%%", ""))
    if brace:
        found += _BRACE.findall(text)
    return sorted(found)


def staff_path(path: str) -> bool:
    return path.startswith(STAFF_PREFIXES)


class StaffEnglishMiddleware:
    """Staff pages in English: activates "en" for them (after LocaleMiddleware chose the
    visitor's language), so templates, forms and `<html lang>` all say English."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not staff_path(request.path_info):
            return self.get_response(request)
        with translation.override("en"):
            request.LANGUAGE_CODE = "en"
            response = self.get_response(request)
            response.headers["Content-Language"] = "en"
            return response


class CatalogueError(Exception):
    """A .po file that cannot be compiled: the message says which and why."""


@dataclass(frozen=True)
class Compiled:
    po: Path
    mo: Path
    tool: str


def catalogues() -> list[Path]:
    """Every django.po / djangojs.po under the project's LOCALE_PATHS."""
    found: list[Path] = []
    for root in settings.LOCALE_PATHS:
        found.extend(sorted(Path(root).glob("*/LC_MESSAGES/*.po")))
    return found


def msgfmt_path() -> str | None:
    return shutil.which("msgfmt")


def _read(po_path: Path) -> polib.POFile:
    try:
        return polib.pofile(str(po_path), check_for_duplicates=True)
    except (OSError, ValueError) as error:
        raise CatalogueError(f"cannot read {po_path}: {error}") from error


def _check_placeholders(po_path: Path) -> None:
    for entry in _read(po_path).translated_entries():
        brace = "python-brace-format" in entry.flags
        wanted = placeholders(entry.msgid, brace=brace)
        if entry.msgid_plural:
            wanted_plural = placeholders(entry.msgid_plural, brace=brace)
            for index, text in entry.msgstr_plural.items():
                if text and placeholders(text, brace=brace) not in (wanted, wanted_plural):
                    raise CatalogueError(
                        f"{po_path}:{entry.linenum}: msgstr[{index}] placeholders "
                        f"{placeholders(text, brace=brace)} differ from msgid's {wanted_plural}"
                    )
        elif placeholders(entry.msgstr, brace=brace) != wanted:
            raise CatalogueError(
                f"{po_path}:{entry.linenum}: placeholders {placeholders(entry.msgstr, brace=brace)}"
                f" in the translation of {entry.msgid!r} differ from {wanted}"
            )


def _compile_msgfmt(msgfmt: str, po_path: Path, target: Path) -> None:
    result = subprocess.run(  # noqa: S603 (our own tool on our own file)
        [msgfmt, "--check-format", "-o", str(target), str(po_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CatalogueError(f"msgfmt refused {po_path}:\n{result.stderr.strip()}")


def _compile_polib(po_path: Path, target: Path) -> None:
    catalogue = _read(po_path)
    # Like msgfmt: fuzzy and obsolete entries are left out of the .mo.
    catalogue.save_as_mofile(str(target))


def compile_catalogue(po_path: Path, *, use_msgfmt: bool | None = None) -> Compiled:
    """Compile one .po beside itself (written to a temporary file, then renamed, so a running
    server never reads half a catalogue). `use_msgfmt`: None picks msgfmt when installed."""
    msgfmt = msgfmt_path()
    if use_msgfmt is None:
        use_msgfmt = msgfmt is not None
    if use_msgfmt and msgfmt is None:
        raise CatalogueError("msgfmt is not installed")
    _check_placeholders(po_path)
    mo_path = po_path.with_suffix(".mo")
    handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
    os.close(handle)
    try:
        if use_msgfmt:
            assert msgfmt is not None
            _compile_msgfmt(msgfmt, po_path, Path(temporary))
        else:
            _compile_polib(po_path, Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, mo_path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return Compiled(po=po_path, mo=mo_path, tool="msgfmt" if use_msgfmt else "polib")


def compile_catalogues(*, use_msgfmt: bool | None = None) -> list[Compiled]:
    return [compile_catalogue(path, use_msgfmt=use_msgfmt) for path in catalogues()]
