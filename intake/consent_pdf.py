"""The PDF of a signed consent form (fpdf2): what the patient signed and the evidence of signing.

It holds the clinic's name and address, the form's title, version and effective date, the exact
full text signed, the patient's name and date of birth, the typed name, the drawn signature (if
any), the time in clinic time and in UTC, the IP address and user agent, and the text's SHA-256.

The text must be recoverable exactly from the PDF (tests extract it with pypdf): a Unicode
TrueType font (DejaVu Sans, where the machine has it) prints every character as typed; without
one, the core Helvetica font gets a transliteration of what Latin-1 cannot hold, and the SHA-256
printed is always the one of the exact text as stored.

Built by intake.consent_forms (the signing service); nothing else writes these PDFs.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

# Where a Unicode TrueType font may be found (Debian/Ubuntu's fonts-dejavu-core, other layouts).
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)
FONT_NAME = "DejaVu"
# fpdf2 subsets the font with fontTools, which logs every glyph at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


@dataclass(frozen=True)
class SignedFormFacts:
    """Everything the PDF prints, gathered by the signing service."""

    form_title: str
    version_number: int
    effective_date: dt.date
    text: str
    text_sha256: str
    patient_name: str
    date_of_birth: dt.date
    typed_name: str
    signed_at: dt.datetime
    method_label: str
    ip: str | None
    user_agent: str
    drawn_signature_png: bytes | None = None
    recorded_by: str = ""


def unicode_font() -> Path | None:
    for candidate in FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    return None


# Letters and punctuation outside Latin-1 that NFKD does not take apart (a lawyer's curly quotes).
TRANSLITERATION = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Œ": "OE",
        "œ": "oe",
        "\u0131": "i",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u2022": "-",
    }
)


def latin1_safe(text: str) -> str:
    """What the core fonts can print: accents kept where Latin-1 has them, others decomposed
    (é stays, ł -> l, curly quotes straight), anything else as '?'. Used only without a Unicode
    font."""
    out = []
    for char in text.translate(TRANSLITERATION):
        try:
            char.encode("latin-1")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(plain or "?")
    return "".join(out)


class _Pdf(FPDF):
    pass


def consent_pdf(facts: SignedFormFacts) -> bytes:
    """The signed form as PDF bytes."""
    pdf = _Pdf(format="Letter")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(20, 18, 20)
    font = unicode_font()
    if font is not None:
        pdf.add_font(FONT_NAME, "", str(font))
        family = FONT_NAME

        def clean(text: str) -> str:
            return text

    else:
        family = "helvetica"
        clean = latin1_safe
    pdf.set_title(clean(facts.form_title))
    pdf.set_author(clean(settings.CLINIC_NAME))
    pdf.set_creation_date(facts.signed_at)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 10, height: float = 5) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(width, height, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(settings.CLINIC_NAME, size=14, height=7)
    line(settings.CLINIC_ADDRESS, size=9)
    pdf.ln(4)
    line(facts.form_title, size=15, height=8)
    line(
        _("Version %(number)s, in effect from %(date)s")
        % {"number": facts.version_number, "date": facts.effective_date.isoformat()},
        size=9,
    )
    pdf.ln(3)
    # The exact text, line by line (blank lines kept), so each of its lines is in the PDF.
    pdf.set_font(family, size=10)
    for text_line in facts.text.splitlines():
        if text_line.strip():
            pdf.multi_cell(width, 5, clean(text_line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.ln(3)
    pdf.ln(6)
    line(_("Signature"), size=13, height=7)
    local = timezone.localtime(facts.signed_at)
    utc = facts.signed_at.astimezone(dt.UTC)
    rows = [
        (_("Patient"), facts.patient_name),
        (_("Date of birth"), facts.date_of_birth.isoformat()),
        (_("Typed full name"), facts.typed_name),
        (_("How it was signed"), facts.method_label),
        (
            _("Signed at (clinic time)"),
            local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or ""),
        ),
        (_("Signed at (UTC)"), utc.strftime("%Y-%m-%d %H:%M:%S UTC")),
        (_("IP address"), facts.ip or _("not recorded")),
        (_("Browser"), facts.user_agent or _("not recorded")),
    ]
    if facts.recorded_by:
        rows.append((_("Recorded by"), facts.recorded_by))
    for label, value in rows:
        line(f"{label}: {value}", size=9)
    # On a line of its own, so it is never broken across lines.
    line(_("SHA-256 of the text signed:"), size=9)
    line(facts.text_sha256, size=8)
    if facts.drawn_signature_png:
        pdf.ln(2)
        line(_("Drawn signature:"), size=9)
        pdf.image(io.BytesIO(facts.drawn_signature_png), w=min(80, width))
    return bytes(pdf.output())
